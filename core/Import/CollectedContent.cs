using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Oci;

namespace Imageimportd.Import;

/// <summary>
/// containerd's GC can remove a blob's file just after this import committed it, when another import's lease ended at
/// that moment (its metadata sweep and file cleanup straddle our commit). That is a race to retry, never a half image
/// to keep: before any image record exists, the blobs it needs are checked, and a blob found missing on the way
/// becomes an Aborted failure (transient, <see cref="RetryPolicy"/>) that says so.
/// </summary>
internal static class CollectedContent
{
    /// <summary>Reads one byte of every blob the images need; throws <see cref="Error"/> for the first one gone.</summary>
    public static async Task ThrowIfAnyCollectedAsync(IContentProvider content, IEnumerable<WalkedImage> entries, CancellationToken cancellationToken)
    {
        var digests = new HashSet<Digest>();
        foreach (var entry in entries)
        {
            digests.Add(entry.Target.Digest);
            if (entry.HostManifest is { } m)
            {
                digests.Add(m.Descriptor.Digest);
                digests.Add(m.Manifest.Config.Digest);
                digests.UnionWith(m.Manifest.Layers.Select(l => l.Digest));
            }
        }

        foreach (var digest in digests)
        {
            try
            {
                await content.ReadAsync(digest, 0, 1, cancellationToken);
            }
            catch (BackendException ex) when (ex.Kind == FailureKind.NotFound)
            {
                throw Error(ex);
            }
        }
    }

    /// <summary>The failure for content that went missing during the import.</summary>
    public static BackendException Error(BackendException notFound) =>
        new(FailureKind.Aborted, $"content was collected by containerd's GC during the import ({notFound.Message}); it will be imported again", notFound);
}
