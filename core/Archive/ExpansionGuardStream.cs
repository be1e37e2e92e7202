using Imageimportd.Compression;

namespace Imageimportd.Archive;

/// <summary>
/// Refuses a decompression bomb: once more than <see cref="ArchiveLimits.ExpansionCheckAfterBytes"/> have come out of a
/// compressed stream, the output may not exceed <see cref="ArchiveLimits.MaxExpansionRatio"/> times the input read so
/// far. Real image bundles expand 2–5×; gigabytes of zeros expand a thousandfold.
/// </summary>
internal sealed class ExpansionGuardStream(DecompressedStream inner, ArchiveLimits limits) : Stream
{
    private long _out;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _out;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Check(inner.Read(buffer, offset, count));

    public override int Read(Span<byte> buffer) => Check(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Check(await inner.ReadAsync(buffer, cancellationToken));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Check(int n)
    {
        _out += n;
        if (inner.Kind != CompressionKind.None && _out > limits.ExpansionCheckAfterBytes)
        {
            var input = Math.Max(1, inner.CompressedBytesRead);
            if (_out / input > limits.MaxExpansionRatio)
            {
                throw new InvalidDataException(
                    $"decompression bomb: {inner.Kind.ToString().ToLowerInvariant()} stream expanded {_out / input}× ({_out >> 20} MiB from {input >> 20} MiB), over the {limits.MaxExpansionRatio}× limit");
            }
        }

        return n;
    }
}
