using Imageimportd.Images;
using Imageimportd.Oci;

namespace Imageimportd.Import;

public sealed record ImportedImage(string Name, Descriptor Target, ImageChange Change, Digest? PreviousTarget);

/// <summary>The outcome of importing one file.</summary>
public sealed record ImportResult(
    string Path,
    IReadOnlyList<ImportedImage> Images,
    IReadOnlyList<string> Warnings,
    long BytesRead,
    long BytesSent,
    int LayersUnpacked,
    TimeSpan Duration)
{
    /// <summary>The first fault unpack ahead met (the import went on; the unpack after the archive met it again or not).</summary>
    public Exception? UnpackAheadFault { get; init; }

    /// <summary>Layers applied while their bytes streamed to the store (<see cref="LayerTee"/>), not read back; part of <see cref="LayersUnpacked"/>.</summary>
    public int LayersAppliedFromStream { get; init; }
}
