using Imageimportd.Oci;

namespace Imageimportd.Import;

/// <summary>What happened to one image name.</summary>
public enum ImageChange
{
    Created,

    /// <summary>The name existed and now points at another target (the old one is in <see cref="ImportedImage.PreviousTarget"/>).</summary>
    Repointed,

    /// <summary>The name pointed at the same target; only labels were added.</summary>
    Relabeled,

    /// <summary>Nothing to write: same target, labels already there.</summary>
    Unchanged,
}

public sealed record ImportedImage(string Name, Descriptor Target, ImageChange Change, Digest? PreviousTarget);

/// <summary>The outcome of importing one file.</summary>
public sealed record ImportResult(
    string Path,
    IReadOnlyList<ImportedImage> Images,
    IReadOnlyList<string> Warnings,
    long BytesRead,
    long BytesSent,
    int LayersUnpacked,
    TimeSpan Duration);
