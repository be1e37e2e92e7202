using Imageimportd.Observe;
using Imageimportd.Queue;
using Imageimportd.Scan;

namespace Imageimportd.Daemon;

/// <summary>
/// What the watcher's hints do, and when the next full scan runs. Contract:
/// <list type="bullet">
/// <item><see cref="Changed"/>: an archive or pull list goes straight to the queue (no scan); a directory moved in
/// brings the next scan forward, since its files arrive without events of their own.</item>
/// <item><see cref="Removed"/>: the file leaves the queue, the observer hears of it, and the next scan comes forward
/// (it unpins what the file supplied).</item>
/// <item><see cref="WaitAsync"/> ends <see cref="ScanInterval"/> plus <see cref="Burst"/> after it began, or
/// <see cref="Burst"/> after the first <see cref="Wake"/>, whichever is sooner: a burst of events (a copy, a rename)
/// lands before the scan looks. A wake while no one waits (during a scan) is kept for the next wait, so an event
/// the scan may have missed always gets a scan after it.</item>
/// </list>
/// All timing comes from the injected <see cref="TimeProvider"/>. Thread-safe (hints come from the watcher's thread).
/// </summary>
public sealed class ScanTrigger : IDisposable
{
    /// <summary>How long a wake-up waits for the rest of its burst of events.</summary>
    public static readonly TimeSpan Burst = TimeSpan.FromMilliseconds(500);

    private readonly ImportQueue _queue;
    private readonly IDaemonObserver _observer;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly ITimer _timer;
    private TaskCompletionSource? _waiting;

    // A timestamp (monotonic), not a wall-clock time: a clock set back must not hold the scans up.
    private long _due;
    private bool _woken;
    private bool _disposed;

    public ScanTrigger(ImportQueue queue, IDaemonObserver observer, TimeSpan scanInterval, TimeProvider time)
    {
        _queue = queue;
        _observer = observer;
        ScanInterval = scanInterval;
        _time = time;
        _timer = time.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public TimeSpan ScanInterval { get; }

    /// <summary>When the wait in progress ends; null when no one waits.</summary>
    public DateTimeOffset? NextScanAt
    {
        get
        {
            lock (_gate)
            {
                return _waiting is null ? null : _time.GetUtcNow() + Left();
            }
        }
    }

    /// <summary>The watcher saw <paramref name="path"/> appear or change.</summary>
    public void Changed(string path)
    {
        var name = Path.GetFileName(path);
        if (ArchiveNames.IsArchive(name) || ArchiveNames.IsPullList(name))
        {
            _queue.Notify(path);
        }
        else if (Directory.Exists(path))
        {
            Wake();
        }
    }

    /// <summary>The watcher saw <paramref name="path"/> go.</summary>
    public void Removed(string path)
    {
        _queue.Remove(path);
        _observer.FileRemoved(path);
        Wake();
    }

    /// <summary>Asks for a scan soon (<see cref="Burst"/> from now, or as soon as the next wait begins).</summary>
    public void Wake()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (_waiting is null)
            {
                _woken = true;
                return;
            }

            if (Burst < Left())
            {
                Schedule(Burst);
            }
        }
    }

    /// <summary>Until the next scan is due (see the contract); throws <see cref="OperationCanceledException"/> on <paramref name="stop"/>.</summary>
    public async Task WaitAsync(CancellationToken stop)
    {
        var waiting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _waiting = waiting;
            Schedule(_woken ? Burst : ScanInterval + Burst);
            _woken = false;
        }

        try
        {
            await waiting.Task.WaitAsync(stop);
        }
        finally
        {
            lock (_gate)
            {
                if (_waiting == waiting)
                {
                    _waiting = null;
                    if (!_disposed)
                    {
                        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                    }
                }
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _timer.Dispose();
        }
    }

    /// <summary>Under the lock: the wait ends <paramref name="wait"/> from now.</summary>
    private void Schedule(TimeSpan wait)
    {
        _due = _time.GetTimestamp() + (long)((Int128)wait.Ticks * _time.TimestampFrequency / TimeSpan.TicksPerSecond);
        _timer.Change(wait, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Under the lock: how long until the wait ends (zero or less: due).</summary>
    private TimeSpan Left() => _time.GetElapsedTime(_time.GetTimestamp(), _due);

    private void Fire()
    {
        lock (_gate)
        {
            if (_waiting is not { } waiting || _disposed)
            {
                return;
            }

            // A timer may fire a little early, and a callback may come from a due time since moved: wait out the rest.
            var left = Left();
            if (left > TimeSpan.Zero)
            {
                _timer.Change(left, Timeout.InfiniteTimeSpan);
                return;
            }

            waiting.TrySetResult();
        }
    }
}
