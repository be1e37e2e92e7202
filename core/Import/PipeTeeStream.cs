using System.IO.Pipelines;
using Imageimportd.Compression;

namespace Imageimportd.Import;

/// <summary>
/// Passes reads through and copies what was read into a pipe, whose bounded size holds the reader back while the
/// pipe's reader is behind. When the pipe's reader is gone (it completed, e.g. failed), copying stops and reads go
/// on at full speed: the second consumer can never break the first.
/// </summary>
internal sealed class PipeTeeStream(Stream inner, PipeWriter copy) : ReadOnlyStream
{
    private bool _detached;

    /// <summary>Bytes read through this stream, all of them copied unless <see cref="Detached"/>.</summary>
    public long BytesRead { get; private set; }

    /// <summary>True once the pipe's reader stopped taking bytes.</summary>
    public bool Detached => _detached;

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        if (n > 0 && !_detached)
        {
            var result = copy.WriteAsync(buffer[..n].ToArray()).AsTask().GetAwaiter().GetResult();
            _detached = result.IsCompleted;
        }

        BytesRead += n;
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        if (n > 0 && !_detached)
        {
            var result = await copy.WriteAsync(buffer[..n], cancellationToken);
            _detached = result.IsCompleted;
        }

        BytesRead += n;
        return n;
    }
}
