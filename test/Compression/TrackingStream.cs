using Imageimportd.Compression;
namespace Imageimportd.Tests.Compression;

/// <summary>A read-only, non-seekable stream over bytes that records how much was read and whether it was disposed.</summary>
internal sealed class TrackingStream(byte[] data) : ReadOnlyStream
{
    private readonly MemoryStream _inner = new(data, writable: false);

    public long BytesRead { get; private set; }

    public bool IsDisposed { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        // Hand out modest pieces, as a pipe or socket would.
        var n = _inner.Read(buffer[..Math.Min(buffer.Length, 64 << 10)]);
        BytesRead += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    protected override void Dispose(bool disposing)
    {
        IsDisposed = true;
        _inner.Dispose();
        base.Dispose(disposing);
    }
}
