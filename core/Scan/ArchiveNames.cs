namespace Imageimportd.Scan;

/// <summary>
/// Which files in the images directory are candidates. The name only selects candidates; the decoder is chosen by
/// the stream's magic bytes, so a gzip file named <c>.tar</c> still imports.
/// </summary>
public static class ArchiveNames
{
    private static readonly string[] ArchiveSuffixes =
    [
        ".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.zstd", ".tzst", ".tar.bz2", ".tbz", ".tbz2", ".tar.lz4", ".tar.xz", ".txz",
    ];

    public static bool IsArchive(string fileName) =>
        !IsHidden(fileName) && ArchiveSuffixes.Any(s => fileName.EndsWith(s, StringComparison.OrdinalIgnoreCase));

    /// <summary>A pull list: one image reference per line.</summary>
    public static bool IsPullList(string fileName) =>
        !IsHidden(fileName) && fileName.EndsWith(".txt", StringComparison.OrdinalIgnoreCase);

    /// <summary>Dot files (the cache, editors' and copy tools' temporaries) are never imported.</summary>
    public static bool IsHidden(string fileName) => fileName.StartsWith('.');
}
