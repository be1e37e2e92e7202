using Imageimportd.Cache;
using Imageimportd.Images;
using Imageimportd.Import;
using Imageimportd.Observe;
using Imageimportd.Queue;
using Imageimportd.Scan;
using Serilog;

namespace Imageimportd.Daemon;

/// <summary>
/// Builds a <see cref="WatchDaemon"/> and its parts, each once, from the command line's options: the one place that
/// wires them. Loads the cache (an unreadable one is a warning and an empty cache, every file is checked again).
/// </summary>
public static class WatchDaemonFactory
{
    public static WatchDaemon Create(IImportBackend backend, ImportOptions import, WatchOptions options, IPullListHandler? pulls, ISystemdNotifier notifier, ILogger log, TimeProvider time, IFileProbe? probe = null, IDaemonObserver? observer = null)
    {
        var directory = Path.GetFullPath(options.ImagesDirectory);
        probe ??= StatFileProbe.Instance;
        observer ??= NullObserver.Instance;
        var importer = new FileImporter(backend, import);
        var queue = new ImportQueue(probe, time, new ImportQueueOptions { SettleTime = options.SettleTime, MaxConcurrency = Math.Max(1, options.Parallel) });
        var cache = options.CachePath is { } cachePath ? ImportCache.Load(cachePath, time) : ImportCache.InMemory(time);
        if (cache.LoadedCorrupt)
        {
            log.Warning("import cache {Cache:l} is unreadable ({Reason:l}); starting empty, files will be re-imported", cache.FilePath, cache.LoadError);
        }

        var saveFailureWarned = 0;
        var saver = new CacheSaver(
            cache,
            time,
            options.CacheSaveInterval,
            ex =>
            {
                // Once: a full disk would otherwise say so after every import.
                if (Interlocked.Exchange(ref saveFailureWarned, 1) == 0)
                {
                    log.ForContext("Cache", ex.CachePath).Warning("{Reason:l}; imports go on, a restart re-checks every file", ex.Message);
                }
            },
            count => log.Debug("cache written ({Count} entries)", count));
        var pins = new ImageRecords(backend.Images);
        var keeper = new ImagePinKeeper(cache, saver, pins, import.Pin, new PendingUnpins(cache, pins, probe, log), log);
        var readiness = new Readiness(notifier, queue, keeper.Flush, observer, log, directory, time);
        var pass = new ScanPass(directory, new DirectoryScan(note => log.Warning("{Reason:l}", note)), probe, cache, keeper, queue, observer, log);
        var trigger = new ScanTrigger(queue, observer, options.ScanInterval, time);
        var watcher = new DirectoryWatcher(directory, trigger.Changed, trigger.Removed, trigger.Wake);
        var scans = new ScanLoop(directory, watcher.Arm, pass, trigger, log);
        var workers = new ImportWorkers(options.Parallel, queue, importer, pulls, keeper, readiness, observer, log, time);
        observer.Attach(new DaemonView(directory, queue, importer));
        return new WatchDaemon(options.ShutdownTimeout, scans, workers, readiness, saver, importer, watcher, trigger, log);
    }
}
