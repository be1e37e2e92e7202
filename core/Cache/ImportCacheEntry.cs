using Imageimportd.Queue;

namespace Imageimportd.Cache;

/// <summary>
/// What the cache knows about one file: the stamp it had when imported, the image names the import produced, and
/// when. <paramref name="FromK3s"/>: the entry was written by k3s (it has no <c>images</c> key), so its images are
/// not known yet and its modTime may be cut to the second; such entries have no images and no import time.
/// </summary>
public sealed record ImportCacheEntry(FileStamp Stamp, IReadOnlyList<string> Images, DateTimeOffset? ImportedAt, bool FromK3s = false)
{
    private const long NanosPerSecond = 1_000_000_000;

    /// <summary>
    /// True when <paramref name="stamp"/> is the file this entry describes: same size and the same mtime to the
    /// nanosecond, or, for a k3s entry in whole seconds (k3s writes RFC 3339 without a fraction), an mtime within
    /// that second (what <c>cp</c> or a download leaves has a sub-second part).
    /// </summary>
    public bool Matches(FileStamp stamp)
    {
        if (stamp.Size != Stamp.Size)
        {
            return false;
        }

        if (stamp.ModifiedUnixNanoseconds == Stamp.ModifiedUnixNanoseconds)
        {
            return true;
        }

        return FromK3s && Stamp.ModifiedUnixNanoseconds % NanosPerSecond == 0
            && stamp.ModifiedUnixNanoseconds - Stamp.ModifiedUnixNanoseconds is >= 0 and < NanosPerSecond;
    }
}
