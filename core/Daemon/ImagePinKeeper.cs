using Imageimportd.Cache;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Queue;
using Serilog;

namespace Imageimportd.Daemon;

/// <summary>
/// Keeps the import cache, and the pins of the images it names, in step with the files: the "cache and pins" of the
/// watch daemon. Contract:
/// <list type="bullet">
/// <item><see cref="RecordAsync"/> records a successful import (a batched save follows, <see cref="CacheSaver"/>), then
/// unpins the names the file supplied before and no longer does, unless a present file still supplies them; an unpin
/// containerd refuses stays owed and is tried again by <see cref="RetryUnpinsAsync"/> at each scan
/// (<see cref="PendingUnpins"/>).</item>
/// <item><see cref="RepinAsync"/> (the initial pass): one List for all the unchanged files; an image that lost its pin
/// is pinned again; a file whose image is gone, whose pin cannot be restored, or all of them when the List fails,
/// is marked for re-import in the cache and returned.</item>
/// <item><see cref="UnpinGoneAsync"/>: files are gone; their images no present file supplies are unpinned in one pass
/// and their entries forgotten with one cache write; when containerd fails, the entries stay for the next scan.</item>
/// </list>
/// Only pins this daemon set are removed (<see cref="ImageRecords"/>); images are never deleted. A
/// <see cref="BackendException"/> is handled here (logged, retried later); cancellation propagates. Thread-safe:
/// the cache has its own lock, and the pending unpins theirs.
/// </summary>
public sealed class ImagePinKeeper
{
    private const int LinesPerFile = 100;

    private readonly ImportCache _cache;
    private readonly CacheSaver _saver;
    private readonly ImageRecords _pins;
    private readonly bool _pin;
    private readonly PendingUnpins _unpins;
    private readonly ILogger _log;

    /// <param name="pin">Whether imports pin (<c>--no-pin</c> turns it off): then nothing is re-pinned at start.</param>
    public ImagePinKeeper(ImportCache cache, CacheSaver saver, ImageRecords pins, bool pin, PendingUnpins unpins, ILogger log)
    {
        _cache = cache;
        _saver = saver;
        _pins = pins;
        _pin = pin;
        _unpins = unpins;
        _log = log;
    }

    /// <summary>Unpins owed and not done yet, by image name (a copy).</summary>
    public IReadOnlyCollection<string> PendingUnpins => _unpins.Names;

    /// <summary>True when the cache holds <paramref name="path"/> as imported in this state (<see cref="ImportCache.TryGetCurrent"/>).</summary>
    public bool IsImported(string path, FileStamp stamp) => _cache.TryGetCurrent(path, stamp, out _);

    /// <summary>Writes what the batching held back (the end of a pass, before READY).</summary>
    public void Flush() => _saver.Flush();

    /// <summary>Records that <paramref name="path"/> as of <paramref name="stamp"/> supplies <paramref name="names"/>; see the contract.</summary>
    public async Task RecordAsync(string path, FileStamp stamp, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        var previous = _cache.Record(path, stamp, names);
        _saver.Changed();
        // A rebuilt tag leaves its old repo@sha256 name, a new tag the old tag.
        var dropped = previous?.Images.Except(names, StringComparer.Ordinal).ToList() ?? [];
        if (dropped.Count > 0)
        {
            await _unpins.AddAsync(path, dropped, cancellationToken);
        }
    }

    /// <summary>Tries the pending unpins again; see the contract.</summary>
    public Task RetryUnpinsAsync(CancellationToken cancellationToken) => _unpins.RetryAsync(cancellationToken);

    /// <summary>
    /// At start, an unchanged file costs no writes: its images normally still carry their pin. Returns the files
    /// that must be imported again (marked so in the cache); see the contract.
    /// </summary>
    public async Task<IReadOnlySet<string>> RepinAsync(IReadOnlyList<(string File, IReadOnlyList<string> Images)> unchanged, CancellationToken cancellationToken)
    {
        var reimport = new HashSet<string>(StringComparer.Ordinal);
        if (unchanged.Count == 0)
        {
            return reimport;
        }

        // One List for the pass, not one Get per image per file.
        var images = await ListImagesAsync(cancellationToken);
        foreach (var (file, names) in unchanged)
        {
            if (images is null || !await RepinFileAsync(file, names, images, cancellationToken))
            {
                _cache.MarkForReimport(file);
                reimport.Add(file);
            }
        }

        return reimport;
    }

    /// <summary>
    /// Files are gone: in one pass, unpin the images no present file supplies and that this daemon pinned (one List
    /// from containerd, whatever the number of entries), then forget their entries with one cache write.
    /// </summary>
    public async Task UnpinGoneAsync(IReadOnlyList<string> gone, IReadOnlySet<string> present, CancellationToken cancellationToken)
    {
        var goneSet = new HashSet<string>(gone, StringComparer.Ordinal);
        // Kept per file only for the per-file log lines, which a huge stale cache does not get.
        var byFile = gone.Count <= LinesPerFile ? new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) : null;
        var candidates = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in gone)
        {
            if (_cache.TryGet(path, out var entry))
            {
                byFile?.Add(path, entry.Images);
                candidates.UnionWith(entry.Images);
            }
        }

        candidates.RemoveWhere(name => _cache.SuppliersOf(name).Any(p => !goneSet.Contains(p) && present.Contains(p)));
        var unpinned = new HashSet<string>(StringComparer.Ordinal);
        if (candidates.Count > 0)
        {
            try
            {
                var ours = await _pins.ListOursAsync(cancellationToken);
                foreach (var name in candidates)
                {
                    if (ours.TryGetValue(name, out var image) && await _pins.UnpinAsync(image, cancellationToken))
                    {
                        unpinned.Add(name);
                    }
                }
            }
            catch (BackendException ex)
            {
                _log.Warning("could not unpin the images of {Count} removed file(s): {Reason:l}; will retry", gone.Count, ex.Message);
                return;
            }
        }

        var forgotten = _cache.ForgetAll(gone);
        _saver.Flush();
        if (forgotten > 10_000)
        {
            // A one-off: hand the memory of a huge stale cache back to the system instead of keeping it as heap.
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }

        if (byFile is not null)
        {
            foreach (var (path, images) in byFile.OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                _log.ForContext("Outcome", "unpinned").Information("unpinned {File:l}: {Images:l}", path, images.Where(unpinned.Contains).ToList());
            }
        }
        else
        {
            _log.ForContext("Outcome", "unpinned").Information("forgot {Count} cache entries of files that no longer exist; unpinned {Images} image(s)", forgotten, unpinned.Count);
        }
    }

    private async Task<IReadOnlyDictionary<string, ImageRecord>?> ListImagesAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _pins.ListAllAsync(cancellationToken);
        }
        catch (BackendException ex)
        {
            _log.Warning("cannot list images to check the cached files: {Reason:l}; they are imported again", ex.Message);
            return null;
        }
    }

    /// <summary>False when an image is gone or its pin cannot be restored: the file is imported again.</summary>
    private async Task<bool> RepinFileAsync(string file, IReadOnlyList<string> names, IReadOnlyDictionary<string, ImageRecord> images, CancellationToken cancellationToken)
    {
        foreach (var name in names)
        {
            if (!images.TryGetValue(name, out var image))
            {
                return false;
            }

            try
            {
                if (_pin && await _pins.PinAsync(image, cancellationToken))
                {
                    _log.Information("{File:l}: re-pinned {Image:l}", file, name);
                }
            }
            catch (BackendException ex)
            {
                _log.Warning("{File:l}: cannot re-pin {Image:l}: {Reason:l}", file, name, ex.Message);
                return false;
            }
        }

        return true;
    }
}
