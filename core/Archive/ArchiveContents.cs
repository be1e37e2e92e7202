using Imageimportd.Oci;

namespace Imageimportd.Archive;

/// <summary>
/// What the archive reader found: every blob it stored, keyed by entry path and by digest, and the one document
/// that says what the images are (the OCI root index, or docker's <c>manifest.json</c>).
/// </summary>
public sealed class ArchiveContents
{
    public required ArchiveFormat Format { get; init; }

    /// <summary>The OCI layout's <c>index.json</c> as a blob (OCI layouts only).</summary>
    public StoredBlob? RootIndex { get; init; }

    /// <summary>The parsed <c>manifest.json</c> (docker archives only).</summary>
    public IReadOnlyList<DockerManifestEntry>? DockerManifests { get; init; }

    /// <summary>Regular-file entries by cleaned path (last one wins, as in containerd).</summary>
    public required IReadOnlyDictionary<string, StoredBlob> BlobsByPath { get; init; }

    /// <summary>Symlink entries: raw entry name → cleaned target path.</summary>
    public required IReadOnlyDictionary<string, string> Symlinks { get; init; }

    /// <summary>Every stored blob by its verified digest.</summary>
    public required IReadOnlyDictionary<Digest, StoredBlob> BlobsByDigest { get; init; }

    /// <summary>
    /// Set when the reader stopped early because a blob came back <see cref="BlobState.HintMismatch"/>: the archive must
    /// be read again without layer substitution. Nothing else in an abandoned read means anything.
    /// </summary>
    public string? HintMismatch { get; init; }

    /// <summary>Uncompressed bytes read from the archive stream.</summary>
    public long BytesRead { get; init; }

    internal static ArchiveContents Abandoned(string hintMismatch) => new()
    {
        Format = ArchiveFormat.Docker,
        BlobsByPath = new Dictionary<string, StoredBlob>(),
        BlobsByDigest = new Dictionary<Digest, StoredBlob>(),
        Symlinks = new Dictionary<string, string>(),
        HintMismatch = hintMismatch,
    };

    /// <summary>Resolves a path named by <c>manifest.json</c>, following symlink entries (docker dedupes layers with them).</summary>
    public StoredBlob? Resolve(string path)
    {
        return Follow(path) ?? Follow(GoPath.Clean(path));
    }

    private StoredBlob? Follow(string path)
    {
        for (var hops = 0; hops < 16; hops++)
        {
            if (BlobsByPath.TryGetValue(path, out var blob))
            {
                return blob;
            }

            if (!Symlinks.TryGetValue(path, out var target))
            {
                return null;
            }

            path = target;
        }

        return null;
    }
}
