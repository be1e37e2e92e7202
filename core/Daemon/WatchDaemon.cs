using Imageimportd.Cache;
using Imageimportd.Import;
using Serilog;

namespace Imageimportd.Daemon;

/// <summary>
/// The watch daemon, as the owner of cancellation and of the shutdown order; the work is done by its parts, built by
/// <see cref="WatchDaemonFactory"/>: inotify hints and a periodic full scan (<see cref="ScanLoop"/>,
/// <see cref="ScanTrigger"/>, <see cref="ScanPass"/>) feed the debounced queue; <see cref="ImportWorkers"/> import
/// what it hands out; <see cref="ImagePinKeeper"/> keeps the cache and the pins in step with the files (a restart
/// re-imports nothing unchanged; images a file no longer supplies are unpinned); <see cref="Readiness"/> talks to
/// systemd. Cache writes are batched (<see cref="CacheSaver"/>): at most one per second, one when a pass ends, one at
/// shutdown.
/// Shutdown order (the invariants): stop taking work (the watcher closes, STOPPING=1 goes out as the shutdown begins,
/// workers take no new file) → let in-flight imports finish within the shutdown timeout, then abort them (each import
/// deletes its own lease) → save the cache → "stopped".
/// </summary>
public sealed class WatchDaemon : IDisposable
{
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(5);

    private readonly TimeSpan _shutdownTimeout;
    private readonly ScanLoop _scans;
    private readonly ImportWorkers _workers;
    private readonly Readiness _readiness;
    private readonly CacheSaver _saver;
    private readonly FileImporter _importer;
    private readonly IDisposable _watcher;
    private readonly ScanTrigger _trigger;
    private readonly ILogger _log;

    internal WatchDaemon(TimeSpan shutdownTimeout, ScanLoop scans, ImportWorkers workers, Readiness readiness, CacheSaver saver, FileImporter importer, IDisposable watcher, ScanTrigger trigger, ILogger log)
    {
        _shutdownTimeout = shutdownTimeout;
        _scans = scans;
        _workers = workers;
        _readiness = readiness;
        _saver = saver;
        _importer = importer;
        _watcher = watcher;
        _trigger = trigger;
        _log = log;
    }

    /// <summary>True once every file found by the first scan has been handled (READY=1 was sent).</summary>
    public bool IsReady => _readiness.IsReady;

    /// <summary>Runs until <paramref name="stop"/>, then shuts down in the order the type's summary gives.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        using var abort = new CancellationTokenSource();
        _readiness.Scanning();
        var watchdog = _readiness.WatchdogAsync(stop);
        var progress = ProgressReporter.RunAsync(_importer, _log, terminal: false, ProgressInterval, stop);
        var workers = _workers.RunAsync(stop, abort.Token);
        try
        {
            await _scans.RunAsync(_readiness.InitialScanDone, stop);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Shutting down.
        }
        finally
        {
            // Stop taking work: no more hints; the workers take no new file once stop is cancelled.
            _watcher.Dispose();
            _readiness.Stopping();
            abort.CancelAfter(_shutdownTimeout);
            await workers;
            await watchdog;
            await progress;
            _saver.Dispose();
            _log.Information("stopped");
        }
    }

    public void Dispose()
    {
        _watcher.Dispose();
        _trigger.Dispose();
        _saver.Dispose();
    }
}
