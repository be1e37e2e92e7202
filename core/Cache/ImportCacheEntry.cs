using Imageimportd.Queue;

namespace Imageimportd.Cache;

/// <summary>
/// What the cache knows about one file: the stamp it had when imported, the image names the import produced, and
/// when. Entries read from a k3s cache have no images and no import time.
/// </summary>
public sealed record ImportCacheEntry(FileStamp Stamp, IReadOnlyList<string> Images, DateTimeOffset? ImportedAt);
