using Imageimportd.Observe;
using Imageimportd.Queue;
using Serilog;

namespace Imageimportd.Daemon;

/// <summary>
/// What systemd sees of the daemon. Contract:
/// <list type="bullet">
/// <item><c>READY=1</c> is sent once: after <see cref="InitialScanDone"/> and once the queue holds nothing pending
/// (every file the initial scan queued is imported, parked or gone), checked by <see cref="CheckReady"/> after each
/// completion. The cache is flushed first, so a restart after READY re-imports nothing; the log line and the
/// observer's <see cref="IDaemonObserver.Ready"/> go with it.</item>
/// <item><c>STATUS=</c>: scanning DIR, importing NAME, watching DIR, stopping.</item>
/// <item><see cref="WatchdogAsync"/>: <c>WATCHDOG=1</c> at once and then every <see cref="ISystemdNotifier.WatchdogInterval"/>
/// until stopped; nothing when systemd set no watchdog.</item>
/// <item><see cref="Stopping"/>: <c>STOPPING=1</c> when the shutdown begins.</item>
/// </list>
/// Thread-safe: workers call it concurrently.
/// </summary>
public sealed class Readiness
{
    private readonly ISystemdNotifier _notifier;
    private readonly ImportQueue _queue;
    private readonly Action _flush;
    private readonly IDaemonObserver _observer;
    private readonly ILogger _log;
    private readonly string _directory;
    private readonly TimeProvider _time;
    private volatile bool _initialScanDone;
    private int _ready;
    private int _imported;

    /// <param name="flush">Writes the cache; called once, just before READY.</param>
    public Readiness(ISystemdNotifier notifier, ImportQueue queue, Action flush, IDaemonObserver observer, ILogger log, string directory, TimeProvider time)
    {
        _notifier = notifier;
        _queue = queue;
        _flush = flush;
        _observer = observer;
        _log = log;
        _directory = directory;
        _time = time;
    }

    /// <summary>True once READY=1 was sent.</summary>
    public bool IsReady => Volatile.Read(ref _ready) == 1;

    /// <summary>Files imported since start (the count READY's log line gives).</summary>
    public int Imported => Volatile.Read(ref _imported);

    public void Scanning() => _notifier.Status("scanning " + _directory);

    /// <summary>The initial pass ended: READY may follow as soon as its files are handled.</summary>
    public void InitialScanDone()
    {
        _initialScanDone = true;
        CheckReady();
    }

    public void Importing(string path) => _notifier.Status($"importing {Path.GetFileName(path)}");

    /// <summary>A file was imported (or a pull list handled).</summary>
    public void FileImported() => Interlocked.Increment(ref _imported);

    /// <summary>Sends READY=1 if it is due (see the contract); a no-op before the initial scan ends and after READY.</summary>
    public void CheckReady()
    {
        if (!_initialScanDone || _queue.PendingCount > 0 || Interlocked.CompareExchange(ref _ready, 1, 0) != 0)
        {
            return;
        }

        _flush();
        _log.Information("initial import done ({Count} files imported); watching {Directory:l}", Imported, _directory);
        _notifier.Ready();
        _observer.Ready();
        _notifier.Status("watching " + _directory);
    }

    /// <summary>STOPPING=1 and the status that says so.</summary>
    public void Stopping()
    {
        _notifier.Stopping();
        _notifier.Status("stopping");
    }

    /// <summary>Keeps systemd's watchdog fed until <paramref name="stop"/>; returns at once without a watchdog.</summary>
    public async Task WatchdogAsync(CancellationToken stop)
    {
        if (_notifier.WatchdogInterval is not { } interval)
        {
            return;
        }

        // A periodic timer keeps its beat whatever the send costs, and remembers a tick that came while sending.
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            do
            {
                _notifier.Watchdog();
            }
            while (await timer.WaitForNextTickAsync(stop));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
