using Imageimportd.Compression;

namespace Imageimportd.Import;

/// <summary>
/// Passes reads through and copies what was read into a <see cref="ByteRing"/>, whose bounded size holds the reader
/// back while the ring's reader is behind. When the ring's reader is gone (it finished or failed), copying stops and
/// reads go on at full speed: the second consumer can never break the first.
/// </summary>
internal sealed class TeeStream(Stream inner, ByteRing copy) : ReadOnlyStream
{
    /// <summary>Bytes read through this stream, all of them copied unless <see cref="Detached"/>.</summary>
    public long BytesRead { get; private set; }

    /// <summary>True once the ring's reader stopped taking bytes.</summary>
    public bool Detached { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        if (n > 0 && !Detached)
        {
            Detached = !copy.WriteAsync(buffer[..n].ToArray(), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        BytesRead += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        if (n > 0 && !Detached)
        {
            Detached = !await copy.WriteAsync(buffer[..n], cancellationToken);
        }

        BytesRead += n;
        return n;
    }
}
