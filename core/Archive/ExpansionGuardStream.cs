using Imageimportd.Compression;

namespace Imageimportd.Archive;

/// <summary>
/// Refuses a decompression bomb: once more than <see cref="ArchiveLimits.ExpansionCheckAfterBytes"/> have come out of a
/// compressed stream, the output may not exceed <see cref="ArchiveLimits.MaxExpansionRatio"/> times the input read so
/// far. Real image bundles expand 2–5×; gigabytes of zeros expand a thousandfold.
/// </summary>
internal sealed class ExpansionGuardStream(DecompressedStream inner, ArchiveLimits limits) : ReadOnlyStream
{
    private long _out;

    public override long Position
    {
        get => _out;
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer) => Check(inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        Check(await inner.ReadAsync(buffer, cancellationToken));

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
