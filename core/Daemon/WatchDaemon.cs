using Imageimportd.Cache;
using Imageimportd.Containerd;
using Imageimportd.Images;
using Imageimportd.Import;
using Imageimportd.Queue;
using Imageimportd.Scan;
using Serilog;

namespace Imageimportd.Daemon;

/// <summary>
/// The watch daemon: inotify hints and a periodic full scan feed the debounced <see cref="ImportQueue"/>; workers
/// import what it hands out; the cache records what was imported so a restart re-imports nothing unchanged; pins
/// follow files (a removed file's images are unpinned unless another present file supplies them).
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
    private readonly ImportQueue _queue;
    private readonly ImportCache _cache;
    private readonly bool _persistCache;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly Lock _cacheGate = new();
    private readonly HashSet<string> _forced = new(StringComparer.Ordinal);
    private readonly HashSet<string> _warnedWritable = new(StringComparer.Ordinal);
    private bool _cacheWarned;
    private volatile bool _initialScanDone;
    private int _ready;
    private int _imported;

    public WatchDaemon(IImportBackend backend, ImportOptions import, WatchOptions options, IPullListHandler? pulls, SystemdNotifier notifier, ILogger log, TimeProvider time, IFileProbe? probe = null)
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
        _queue = new ImportQueue(_probe, time, new ImportQueueOptions { SettleTime = options.SettleTime, MaxConcurrency = Math.Max(1, options.Parallel) });
        _persistCache = options.CachePath is not null;
        _cache = options.CachePath is { } cachePath ? ImportCache.Load(cachePath, time) : ImportCache.InMemory(time);
        if (_cache.LoadedCorrupt && _persistCache)
        {
            _log.Warning("import cache {Cache:l} is unreadable ({Reason:l}); starting empty, files will be re-imported", _cache.FilePath, _cache.LoadError);
        }
    }

    /// <summary>True once every file found by the first scan has been handled (READY=1 was sent).</summary>
    public bool IsReady => Volatile.Read(ref _ready) == 1;

    public async Task RunAsync(CancellationToken stop)
    {
        using var abort = new CancellationTokenSource();
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
            SaveCache();
            _log.Information("stopped");
        }
    }

    public void Dispose() => _wake.Dispose();

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
        foreach (var file in files)
        {
            WarnIfWritableByOthers(file);
            if (_probe.Probe(file) is not { } stamp)
            {
                continue;
            }

            if (Unchanged(file, stamp, out var entry))
            {
                if (initial && !await RepinAsync(file, entry!.Images, cancellationToken))
                {
                    lock (_cacheGate)
                    {
                        _forced.Add(file);
                    }

                    _queue.Notify(file);
                }

                continue;
            }

            _queue.Notify(file);
        }

        List<string> gone;
        lock (_cacheGate)
        {
            gone = _cache.Entries.Keys.Where(p => !present.Contains(p) && IsUnder(p)).ToList();
        }

        foreach (var path in gone)
        {
            await UnpinGoneAsync(path, cancellationToken);
        }

        if (gone.Count > 0)
        {
            SaveCache();
        }
    }

    private bool Unchanged(string file, FileStamp stamp, out ImportCacheEntry? entry)
    {
        lock (_cacheGate)
        {
            entry = null;
            if (_forced.Contains(file) || !_cache.IsUnchanged(file, stamp))
            {
                return false;
            }

            return _cache.Entries.TryGetValue(file, out entry);
        }
    }

    private bool IsUnder(string path) =>
        path.StartsWith(_options.ImagesDirectory.TrimEnd('/') + "/", StringComparison.Ordinal);

    /// <summary>
    /// At start, an unchanged file costs no writes: its images normally still carry their pin. Only an image that lost
    /// its pin is re-pinned; an image that is gone entirely means the file is imported again (returns false).
    /// </summary>
    private async Task<bool> RepinAsync(string file, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        foreach (var name in names)
        {
            ImageRecord? image;
            try
            {
                image = await _backend.Images.GetAsync(name, cancellationToken);
            }
            catch (ContainerdException ex)
            {
                _log.Warning("{File:l}: cannot check {Image:l}: {Reason:l}", file, name, ex.Message);
                return false;
            }

            if (image is null)
            {
                return false;
            }

            if (!image.Labels.TryGetValue(ImageLabels.CriPinned, out var pin) || pin != ImageLabels.CriPinnedValue)
            {
                var labels = new Dictionary<string, string>(image.Labels, StringComparer.Ordinal) { [ImageLabels.CriPinned] = ImageLabels.CriPinnedValue };
                await _backend.Images.UpdateAsync(image with { Labels = labels }, ["labels." + ImageLabels.CriPinned], cancellationToken);
                _log.Information("{File:l}: re-pinned {Image:l}", file, name);
            }
        }

        return true;
    }

    /// <summary>A file is gone: unpin the images no other present file supplies. Images are never deleted.</summary>
    private async Task UnpinGoneAsync(string path, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> images;
        HashSet<string> stillSupplied;
        lock (_cacheGate)
        {
            if (!_cache.Entries.TryGetValue(path, out var entry))
            {
                return;
            }

            images = entry.Images;
            stillSupplied = _cache.Entries.Where(e => e.Key != path && File.Exists(e.Key)).SelectMany(e => e.Value.Images).ToHashSet(StringComparer.Ordinal);
        }

        var unpinned = new List<string>();
        foreach (var name in images.Where(n => !stillSupplied.Contains(n)))
        {
            try
            {
                var image = await _backend.Images.GetAsync(name, cancellationToken);
                if (image is null || !image.Labels.ContainsKey(ImageLabels.CriPinned))
                {
                    continue;
                }

                var labels = image.Labels.Where(l => l.Key != ImageLabels.CriPinned).ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
                await _backend.Images.UpdateAsync(image with { Labels = labels }, ["labels." + ImageLabels.CriPinned], cancellationToken);
                unpinned.Add(name);
            }
            catch (ContainerdException ex)
            {
                _log.Warning("{File:l}: could not unpin {Image:l}: {Reason:l}; will retry", path, name, ex.Message);
                return;
            }
        }

        lock (_cacheGate)
        {
            _cache.Forget(path);
        }

        _log.ForContext("Outcome", "unpinned").Information("unpinned {File:l}: {Images:l}", path, unpinned);
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
        try
        {
            IReadOnlyList<string> names;
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
                var result = await _importer.ImportAsync(path, cancellationToken);
                ImportLog.Success(_log, result);
                names = result.Images.Select(i => i.Name).ToList();
            }

            lock (_cacheGate)
            {
                _cache.Record(path, item.Stamp, names);
                _forced.Remove(path);
            }

            Interlocked.Increment(ref _imported);
            SaveCache();
            return ImportOutcomeKind.Success;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _log.Warning("aborted {File:l}: shutdown timeout; it will be imported at the next start", path);
            return ImportOutcomeKind.Transient;
        }
        catch (Exception ex)
        {
            ImportLog.Failure(_log, path, ex, _time.GetElapsedTime(clock));
            return ex is ContainerdException { IsTransient: true } or FileNotFoundException ? ImportOutcomeKind.Transient : ImportOutcomeKind.Permanent;
        }
    }

    private void CheckReady()
    {
        if (!_initialScanDone || _queue.PendingCount > 0 || Interlocked.CompareExchange(ref _ready, 1, 0) != 0)
        {
            return;
        }

        _log.Information("initial import done ({Count} files imported); watching {Directory:l}", Volatile.Read(ref _imported), _options.ImagesDirectory);
        _notifier.Ready();
        _notifier.Status("watching " + _options.ImagesDirectory);
    }

    private void SaveCache()
    {
        if (!_persistCache)
        {
            return;
        }

        try
        {
            lock (_cacheGate)
            {
                _cache.Save();
            }
        }
        catch (ImportCacheWriteException ex)
        {
            if (!_cacheWarned)
            {
                _cacheWarned = true;
                _log.ForContext("Cache", ex.CachePath).Warning("{Reason:l}; imports go on, a restart re-checks every file", ex.Message);
            }
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
