using Imageimportd.Compression;

namespace Imageimportd.Import;

/// <summary>Counts the input bytes an import has consumed into its <see cref="ImportProgress"/>.</summary>
internal sealed class ProgressStream(Stream inner, ImportProgress progress) : ReadOnlyStream
{
    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        progress.Add(n);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        progress.Add(n);
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
