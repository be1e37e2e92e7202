using Imageimportd.Cache;
using Imageimportd.Containerd;
using Imageimportd.Images;
using Imageimportd.Import;
using Imageimportd.Observe;
using Imageimportd.Queue;
using Imageimportd.Scan;
using Serilog;

namespace Imageimportd.Daemon;

/// <summary>
/// The watch daemon: inotify hints and a periodic full scan feed the debounced <see cref="ImportQueue"/>; workers
/// import what it hands out; the cache records what was imported so a restart re-imports nothing unchanged; pins
/// follow files (images a file no longer supplies, because it changed or is gone, are unpinned unless another present
/// file supplies them, and only when this daemon set the pin: <see cref="ImageRecords"/>).
/// Cache writes are batched (<see cref="CacheSaver"/>): at most one per second, one when a pass ends, one at shutdown.
/// Shutdown order (the invariants): stop taking work → let in-flight imports finish within the shutdown timeout,
/// then abort them (each import deletes its own lease) → save the cache → STOPPING=1.
/// </summary>
public sealed class WatchDaemon : IDisposable
{
    private readonly IImportBackend _backend;
    private readonly FileImporter _importer;
    private readonly WatchOptions _options;
    private readonly IPullListHandler? _pulls;
    private readonly SystemdNotifier _notifier;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly IFileProbe _probe;
    private readonly DirectoryScan _scan;
    private readonly IDaemonObserver _observer;
    private readonly ImportQueue _queue;
    private readonly ImportCache _cache;
    private readonly CacheSaver _saver;
    private readonly ImageRecords _pins;
    private readonly bool _pin;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Lock _cacheGate = new();
    private readonly HashSet<string> _forced = new(StringComparer.Ordinal);
    private readonly HashSet<string> _warnedWritable = new(StringComparer.Ordinal);
    private bool _cacheWarned;
    private volatile bool _initialScanDone;
    private int _ready;
    private int _imported;

    public WatchDaemon(IImportBackend backend, ImportOptions import, WatchOptions options, IPullListHandler? pulls, SystemdNotifier notifier, ILogger log, TimeProvider time, IFileProbe? probe = null, IDaemonObserver? observer = null)
    {
        _backend = backend;
        _importer = new FileImporter(backend, import);
        _options = options with { ImagesDirectory = Path.GetFullPath(options.ImagesDirectory) };
        _pulls = pulls;
        _notifier = notifier;
        _log = log;
        _time = time;
        _probe = probe ?? StatFileProbe.Instance;
        _scan = new DirectoryScan(note => _log.Warning("{Reason:l}", note));
        _observer = observer ?? NullObserver.Instance;
        _queue = new ImportQueue(_probe, time, new ImportQueueOptions { SettleTime = options.SettleTime, MaxConcurrency = Math.Max(1, options.Parallel) });
        _pin = import.Pin;
        _pins = new ImageRecords(backend.Images);
        _cache = options.CachePath is { } cachePath ? ImportCache.Load(cachePath, time) : ImportCache.InMemory(time);
        _saver = new CacheSaver(_cache, time, options.CacheSaveInterval, CacheSaveFailed, count => _log.Debug("cache written ({Count} entries)", count));
        if (_cache.LoadedCorrupt)
        {
            _log.Warning("import cache {Cache:l} is unreadable ({Reason:l}); starting empty, files will be re-imported", _cache.FilePath, _cache.LoadError);
        }
    }

    /// <summary>True once every file found by the first scan has been handled (READY=1 was sent).</summary>
    public bool IsReady => Volatile.Read(ref _ready) == 1;

    public async Task RunAsync(CancellationToken stop)
    {
        using var abort = new CancellationTokenSource();
        _observer.Attach(new DaemonView(_options.ImagesDirectory, _queue, _importer));
        using var watcher = new DirectoryWatcher(_options.ImagesDirectory, Changed, Removed, Wake);
        _notifier.Status("scanning " + _options.ImagesDirectory);
        var watchdog = WatchdogAsync(stop);
        var progress = ProgressReporter.RunAsync(_importer, _log, terminal: false, TimeSpan.FromSeconds(5), stop);
        var workers = Enumerable.Range(0, Math.Max(1, _options.Parallel)).Select(_ => WorkAsync(stop, abort.Token)).ToList();
        try
        {
            if (!Directory.Exists(_options.ImagesDirectory))
            {
                _log.Warning("images directory {Directory:l} does not exist yet; watching for it", _options.ImagesDirectory);
            }

            watcher.Arm();
            await ScanAsync(initial: true, stop);
            _initialScanDone = true;
            CheckReady();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await WaitForScanAsync(stop);
                    // Let a burst of events (a copy, a rename) land before looking.
                    await Task.Delay(TimeSpan.FromMilliseconds(500), _time, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                watcher.Arm();
                await ScanAsync(initial: false, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            _notifier.Stopping();
            _notifier.Status("stopping");
            abort.CancelAfter(_options.ShutdownTimeout);
            await Task.WhenAll(workers);
            await watchdog;
            await progress;
            _saver.Dispose();
            _log.Information("stopped");
        }
    }

    public void Dispose()
    {
        _saver.Dispose();
        _wake.Dispose();
    }

    /// <summary>Until the scan interval passes or an event asks for a scan sooner.</summary>
    private async Task WaitForScanAsync(CancellationToken stop)
    {
        using var either = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var timer = Task.Delay(_options.ScanInterval, _time, either.Token);
        var wake = _wake.WaitAsync(either.Token);
        await Task.WhenAny(timer, wake);
        either.Cancel();
        try
        {
            await Task.WhenAll(timer, wake);
        }
        catch (OperationCanceledException)
        {
            // The loser of the two was cancelled.
        }

        stop.ThrowIfCancellationRequested();
    }

    private void Changed(string path)
    {
        var name = Path.GetFileName(path);
        if (ArchiveNames.IsArchive(name) || ArchiveNames.IsPullList(name))
        {
            _queue.Notify(path);
        }
        else if (Directory.Exists(path))
        {
            // A directory moved in: its files arrive without events of their own.
            Wake();
        }
    }

    private void Removed(string path)
    {
        _queue.Remove(path);
        _observer.FileRemoved(path);
        Wake();
    }

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A wake-up is already pending.
        }
    }

    private async Task ScanAsync(bool initial, CancellationToken cancellationToken)
    {
        var files = _scan.Find(_options.ImagesDirectory, n => ArchiveNames.IsArchive(n) || ArchiveNames.IsPullList(n));
        var present = new HashSet<string>(files, StringComparer.Ordinal);
        WarnIfWritableByOthers(_options.ImagesDirectory);
        IReadOnlyDictionary<string, ImageRecord>? images = null;
        var listFailed = false;
        foreach (var file in files)
        {
            WarnIfWritableByOthers(file);
            if (_probe.Probe(file) is not { } stamp)
            {
                continue;
            }

            if (Unchanged(file, stamp, out var entry))
            {
                if (initial && !listFailed)
                {
                    // One List for the whole pass, not one Get per image per file.
                    images ??= await ListImagesAsync(cancellationToken);
                    listFailed = images is null;
                }

                if (initial && (images is null || !await RepinAsync(file, entry!.Images, images, cancellationToken)))
                {
                    lock (_cacheGate)
                    {
                        _forced.Add(file);
                    }

                    _queue.Notify(file);
                }
                else if (initial)
                {
                    _observer.FileUnchanged(file);
                }

                continue;
            }

            if (initial && _cache.TryGet(file, out var inherited) && inherited.FromK3s && inherited.Matches(stamp))
            {
                _log.Information("{File:l}: its cache entry comes from k3s and names no images; importing it once to learn them (content containerd has is not sent again)", file);
            }

            _queue.Notify(file);
        }

        var gone = _cache.Paths.Where(p => !present.Contains(p) && IsUnder(p)).ToList();
        if (gone.Count > 0)
        {
            await UnpinGoneAsync(gone, present, cancellationToken);
        }

        _observer.ScanCompleted(initial);
    }

    /// <summary>
    /// True when the cache says the file is imported as it is now. A k3s entry never is: it names no images, so the
    /// file is imported once to learn them (which sends no content containerd already has by digest).
    /// </summary>
    private bool Unchanged(string file, FileStamp stamp, out ImportCacheEntry? entry)
    {
        entry = null;
        lock (_cacheGate)
        {
            if (_forced.Contains(file))
            {
                return false;
            }
        }

        if (!_cache.TryGet(file, out var found) || found.FromK3s || !found.Matches(stamp))
        {
            return false;
        }

        entry = found;
        return true;
    }

    private bool IsUnder(string path) =>
        path.StartsWith(_options.ImagesDirectory.TrimEnd('/') + "/", StringComparison.Ordinal);

    private async Task<IReadOnlyDictionary<string, ImageRecord>?> ListImagesAsync(CancellationToken cancellationToken)
    {
        try
        {
            var list = await _backend.Images.ListAsync([], cancellationToken);
            return list.ToDictionary(i => i.Name, StringComparer.Ordinal);
        }
        catch (ContainerdException ex)
        {
            _log.Warning("cannot list images to check the cached files: {Reason:l}; they are imported again", ex.Message);
            return null;
        }
    }

    /// <summary>
    /// At start, an unchanged file costs no writes: its images normally still carry their pin. Only an image that lost
    /// its pin is re-pinned; an image that is gone entirely means the file is imported again (returns false).
    /// </summary>
    private async Task<bool> RepinAsync(string file, IReadOnlyList<string> names, IReadOnlyDictionary<string, ImageRecord> images, CancellationToken cancellationToken)
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
            catch (ContainerdException ex)
            {
                _log.Warning("{File:l}: cannot re-pin {Image:l}: {Reason:l}", file, name, ex.Message);
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Files are gone: in one pass, unpin the images no present file supplies and that this daemon pinned (one List
    /// from containerd, whatever the number of entries), then forget their entries with one cache write. Images are
    /// never deleted. When containerd fails, the entries stay and the next scan tries again.
    /// </summary>
    private async Task UnpinGoneAsync(List<string> gone, HashSet<string> present, CancellationToken cancellationToken)
    {
        const int LinesPerFile = 100;
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
            catch (ContainerdException ex)
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

    /// <summary>
    /// A file was imported again and no longer supplies some images it did (a rebuilt tag leaves its old
    /// <c>repo@sha256</c> name, a new tag leaves the old tag): unpin those no other present file supplies.
    /// </summary>
    private async Task UnpinDroppedAsync(string path, IEnumerable<string> dropped, CancellationToken cancellationToken)
    {
        var unpinned = new List<string>();
        foreach (var name in dropped)
        {
            if (_cache.SuppliersOf(name).Any(p => p != path && _probe.Probe(p) is not null))
            {
                continue;
            }

            try
            {
                if (await _backend.Images.GetAsync(name, cancellationToken) is { } image && await _pins.UnpinAsync(image, cancellationToken))
                {
                    unpinned.Add(name);
                }
            }
            catch (ContainerdException ex)
            {
                _log.Warning("{File:l}: could not unpin {Image:l}, which it no longer supplies: {Reason:l}", path, name, ex.Message);
            }
        }

        if (unpinned.Count > 0)
        {
            _log.ForContext("Outcome", "unpinned").Information("{File:l}: unpinned {Images:l}, which it no longer supplies", path, unpinned);
        }
    }

    private async Task WorkAsync(CancellationToken stop, CancellationToken abort)
    {
        while (!stop.IsCancellationRequested)
        {
            QueueItem item;
            try
            {
                item = await _queue.DequeueAsync(stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var outcome = await ProcessAsync(item, abort);
            _queue.Complete(item, outcome);
            CheckReady();
            if (_queue.PendingCount == 0)
            {
                // The end of a pass: what the batching held back is written now.
                _saver.Flush();
            }
        }
    }

    private async Task<ImportOutcomeKind> ProcessAsync(QueueItem item, CancellationToken cancellationToken)
    {
        var path = item.Path;
        if (Unchanged(path, item.Stamp, out _))
        {
            return ImportOutcomeKind.Success;
        }

        var clock = _time.GetTimestamp();
        _notifier.Status($"importing {Path.GetFileName(path)}");
        _observer.ImportStarted(path);
        try
        {
            IReadOnlyList<string> names;
            ImportResult? result = null;
            if (ArchiveNames.IsPullList(Path.GetFileName(path)))
            {
                if (_pulls is null)
                {
                    return ImportOutcomeKind.Success;
                }

                names = await _pulls.HandleAsync(path, cancellationToken);
            }
            else
            {
                result = await _importer.ImportAsync(path, cancellationToken);
                ImportLog.Success(_log, result);
                names = result.Images.Select(i => i.Name).ToList();
            }

            var previous = _cache.Record(path, item.Stamp, names);
            lock (_cacheGate)
            {
                _forced.Remove(path);
            }

            Interlocked.Increment(ref _imported);
            _saver.Changed();
            if (previous is not null)
            {
                await UnpinDroppedAsync(path, previous.Images.Except(names, StringComparer.Ordinal).ToList(), cancellationToken);
            }

            _observer.ImportSucceeded(path, result, names);
            return ImportOutcomeKind.Success;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _log.Warning("aborted {File:l}: shutdown timeout; it will be imported at the next start", path);
            return ImportOutcomeKind.Transient;
        }
        catch (FileNotFoundException) when (SafeFile.Stat(path) is null)
        {
            // Deleted between the queue handing it out and the import opening it: nothing was read, so nothing failed;
            // the scan's (or the watcher's) removal unpins what it supplied before.
            _log.Information("{File:l} was removed before its import read it", path);
            return ImportOutcomeKind.Transient;
        }
        catch (Exception ex)
        {
            ImportLog.Failure(_log, path, ex, _time.GetElapsedTime(clock));
            var kind = ex is ContainerdException { IsTransient: true } or FileNotFoundException ? ImportOutcomeKind.Transient : ImportOutcomeKind.Permanent;
            _observer.ImportFailed(path, ex, kind, _time.GetElapsedTime(clock));
            return kind;
        }
    }

    private void CheckReady()
    {
        if (!_initialScanDone || _queue.PendingCount > 0 || Interlocked.CompareExchange(ref _ready, 1, 0) != 0)
        {
            return;
        }

        _saver.Flush();
        _log.Information("initial import done ({Count} files imported); watching {Directory:l}", Volatile.Read(ref _imported), _options.ImagesDirectory);
        _notifier.Ready();
        _observer.Ready();
        _notifier.Status("watching " + _options.ImagesDirectory);
    }

    private void CacheSaveFailed(ImportCacheWriteException ex)
    {
        if (!_cacheWarned)
        {
            _cacheWarned = true;
            _log.ForContext("Cache", ex.CachePath).Warning("{Reason:l}; imports go on, a restart re-checks every file", ex.Message);
        }
    }

    private void WarnIfWritableByOthers(string path)
    {
        try
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0 && _warnedWritable.Add(path))
            {
                _log.Warning("{Path:l} is writable by group or others: whoever can write there can put images on this node", path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone or unreadable: the scan deals with it.
        }
    }

    private async Task WatchdogAsync(CancellationToken stop)
    {
        if (_notifier.WatchdogInterval is not { } interval)
        {
            return;
        }

        try
        {
            while (true)
            {
                _notifier.Watchdog();
                await Task.Delay(interval, _time, stop);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
