namespace Imageimportd.Queue;

/// <summary>
/// The debounced queue between file-system events and imports. Contract:
/// <list type="bullet">
/// <item><see cref="Notify"/> is a hint, deduplicated per path; each one moves a settling path's due time to now + settle,
/// so a file still being copied keeps moving later (k3s fixes the due time at the first event). For a file in flight or
/// backing off, only a changed stamp (size, mtime, inode) counts: a periodic scan never resets a failing file's
/// backoff.</item>
/// <item>A due file is handed out only if its stamp (size + mtime) equals the one seen at the last notify or probe;
/// otherwise it is due again one settle time later. A file that is gone when due leaves the queue.</item>
/// <item><see cref="DequeueAsync"/> hands out due files in ordinal order of their path, never more than
/// <see cref="ImportQueueOptions.MaxConcurrency"/> at once (handed out and not completed).</item>
/// <item><see cref="Complete"/>: success drops the file unless it changed during its import (then it is queued again);
/// a transient failure retries after 1 s, 2 s, 4 s … capped; a permanent failure parks the file until a
/// <see cref="Notify"/> sees a different stamp.</item>
/// </list>
/// All timing comes from the injected <see cref="TimeProvider"/>. Thread-safe; one lock guards all state.
/// </summary>
public sealed class ImportQueue
{
    private readonly IFileProbe _probe;
    private readonly TimeProvider _time;
    private readonly ImportQueueOptions _options;
    private readonly Lock _lock = new();

    // Ordinal order, so a scan over due entries meets 00-pause.tar first.
    private readonly SortedDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private int _inFlight;
    private int _parked;
    private TaskCompletionSource _changed = NewSignal();

    public ImportQueue(IFileProbe probe, TimeProvider time, ImportQueueOptions? options = null)
    {
        _probe = probe;
        _time = time;
        _options = options ?? new ImportQueueOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxConcurrency, 1);
    }

    private enum State
    {
        /// <summary>Waiting for its stamp to settle.</summary>
        Settling,

        /// <summary>Waiting out a backoff after a transient failure.</summary>
        Backoff,
        InFlight,

        /// <summary>A permanent failure; waits for the file to change.</summary>
        Parked,
    }

    /// <summary>Files waiting, backing off or in flight (parked ones excluded): zero once everything seen is handled.</summary>
    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                // Counted, not walked: the daemon asks after every completion, and a pass may hold 10,000 files.
                return _entries.Count - _parked;
            }
        }
    }

    /// <summary>Paths parked after a permanent failure.</summary>
    public IReadOnlyList<string> Parked
    {
        get
        {
            lock (_lock)
            {
                return _entries.Where(e => e.Value.State == State.Parked).Select(e => e.Key).ToList();
            }
        }
    }

    /// <summary>Every file the queue holds, in path order: a copy, for status reports.</summary>
    public IReadOnlyList<QueueEntryInfo> Snapshot()
    {
        lock (_lock)
        {
            return _entries.Select(e => new QueueEntryInfo(e.Key, e.Value.State switch
            {
                State.Backoff => QueueEntryState.Retrying,
                State.InFlight => QueueEntryState.InFlight,
                State.Parked => QueueEntryState.Parked,
                _ => QueueEntryState.Queued,
            }, e.Value.DueAt, e.Value.Attempt)).ToList();
        }
    }

    /// <summary>A hint that <paramref name="path"/> changed (or exists). See the type's contract.</summary>
    public void Notify(string path)
    {
        // Probed outside the lock: the stamp at notify time is the baseline the due-time check compares against.
        var stamp = _probe.Probe(path);
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            if (!_entries.TryGetValue(path, out var entry))
            {
                _entries[path] = new Entry { State = State.Settling, DueAt = now + _options.SettleTime, Stamp = stamp };
            }
            else
            {
                switch (entry.State)
                {
                    case State.InFlight:
                        // A periodic scan notifies every file it sees; only a real change (size, mtime, inode) since
                        // the hand-out counts, else each scan would reset a failing file's backoff.
                        if (stamp != entry.Stamp)
                        {
                            // Looked at again in Complete: the import may have read a half-written file.
                            entry.ChangedWhileInFlight = true;
                            entry.Stamp = stamp;
                        }

                        entry.RemoveOnComplete = false;
                        break;
                    case State.Parked:
                        if (stamp is not null && stamp != entry.Stamp)
                        {
                            _parked--;
                            Restart(entry, stamp, now);
                        }

                        break;
                    case State.Settling:
                        entry.DueAt = now + _options.SettleTime;
                        entry.Stamp = stamp;
                        break;
                    case State.Backoff:
                        // The backoff is about containerd, not the file: a change never shortens it, only the settle
                        // time can lengthen it; a hint about an unchanged file (a periodic scan) changes nothing.
                        if (stamp != entry.Stamp)
                        {
                            var settled = now + _options.SettleTime;
                            entry.DueAt = entry.DueAt > settled ? entry.DueAt : settled;
                            entry.Stamp = stamp;
                        }

                        break;
                }
            }

            Signal();
        }
    }

    /// <summary>A deleted file leaves the queue; one in flight leaves when completed (unless notified again).</summary>
    public void Remove(string path)
    {
        lock (_lock)
        {
            if (!_entries.TryGetValue(path, out var entry))
            {
                return;
            }

            if (entry.State == State.InFlight)
            {
                entry.RemoveOnComplete = true;
                entry.ChangedWhileInFlight = false;
            }
            else
            {
                _parked -= entry.State == State.Parked ? 1 : 0;
                _entries.Remove(path);
            }

            Signal();
        }
    }

    /// <summary>Hands out the first due, settled file if the concurrency bound allows one; null otherwise.</summary>
    public QueueItem? TryDequeue()
    {
        lock (_lock)
        {
            return TryDequeueLocked(_time.GetUtcNow(), out _);
        }
    }

    /// <summary>Waits until a file is due, settled and the concurrency bound allows it, then hands it out.</summary>
    public async Task<QueueItem> DequeueAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Task changed;
            TimeSpan? wait;
            lock (_lock)
            {
                var now = _time.GetUtcNow();
                var item = TryDequeueLocked(now, out var nextDue);
                if (item is not null)
                {
                    return item;
                }

                changed = _changed.Task;
                wait = nextDue is { } due ? due - now : null;
            }

            if (wait is null)
            {
                await changed.WaitAsync(cancellationToken);
                continue;
            }

            // The delay is cancelled when the state changes first, so no timer outlives its wait.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var delay = Task.Delay(wait.Value > TimeSpan.Zero ? wait.Value : TimeSpan.Zero, _time, stop.Token);
            await Task.WhenAny(changed, delay);
            await stop.CancelAsync();
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>Reports how the import of <paramref name="item"/> ended. See the type's contract.</summary>
    public void Complete(QueueItem item, ImportOutcomeKind outcome)
    {
        // Probed outside the lock: did the file change while it was being imported?
        var current = _probe.Probe(item.Path);
        lock (_lock)
        {
            if (!_entries.TryGetValue(item.Path, out var entry) || entry.State != State.InFlight)
            {
                return;
            }

            _inFlight--;
            var now = _time.GetUtcNow();
            var changed = entry.ChangedWhileInFlight || current != item.Stamp;
            if (entry.RemoveOnComplete || current is null)
            {
                _entries.Remove(item.Path);
            }
            else if (outcome == ImportOutcomeKind.Transient)
            {
                entry.State = State.Backoff;
                entry.DueAt = now + Backoff(item.Attempt);
                entry.Stamp = current;
                entry.ChangedWhileInFlight = false;
                if (changed)
                {
                    // A new file version starts a fresh retry count, but still waits out the backoff.
                    entry.Attempt = 0;
                }
            }
            else if (changed)
            {
                Restart(entry, current, now);
            }
            else if (outcome == ImportOutcomeKind.Permanent)
            {
                _parked++;
                entry.State = State.Parked;
                entry.Stamp = item.Stamp;
            }
            else
            {
                _entries.Remove(item.Path);
            }

            Signal();
        }
    }

    /// <summary>The wait before try <paramref name="attempt"/> + 1: initial × 2^(attempt−1), capped.</summary>
    private TimeSpan Backoff(int attempt)
    {
        var backoff = _options.InitialBackoff;
        for (var i = 1; i < attempt && backoff < _options.MaxBackoff; i++)
        {
            backoff *= 2;
        }

        return backoff < _options.MaxBackoff ? backoff : _options.MaxBackoff;
    }

    private QueueItem? TryDequeueLocked(DateTimeOffset now, out DateTimeOffset? nextDue)
    {
        nextDue = null;
        if (_inFlight >= _options.MaxConcurrency)
        {
            // Only a Complete can free a slot, and it signals.
            return null;
        }

        List<string>? gone = null;
        QueueItem? handed = null;
        foreach (var (path, entry) in _entries)
        {
            if (entry.State is not (State.Settling or State.Backoff))
            {
                continue;
            }

            if (entry.DueAt > now)
            {
                nextDue = nextDue is { } n && n <= entry.DueAt ? n : entry.DueAt;
                continue;
            }

            // stat is cheap; probing under the lock keeps the check and the hand-out one step.
            var stamp = _probe.Probe(path);
            if (stamp is null)
            {
                (gone ??= []).Add(path);
                continue;
            }

            if (stamp != entry.Stamp)
            {
                entry.Stamp = stamp;
                entry.DueAt = now + _options.SettleTime;
                nextDue = nextDue is { } n && n <= entry.DueAt ? n : entry.DueAt;
                continue;
            }

            entry.State = State.InFlight;
            entry.Attempt++;
            entry.ChangedWhileInFlight = false;
            entry.RemoveOnComplete = false;
            _inFlight++;
            handed = new QueueItem(path, stamp.Value, entry.Attempt);
            break;
        }

        foreach (var path in gone ?? [])
        {
            _entries.Remove(path);
        }

        return handed;
    }

    private void Restart(Entry entry, FileStamp? stamp, DateTimeOffset now)
    {
        entry.State = State.Settling;
        entry.DueAt = now + _options.SettleTime;
        entry.Stamp = stamp;
        entry.Attempt = 0;
        entry.ChangedWhileInFlight = false;
    }

    /// <summary>Wakes every waiting dequeuer to look again. Called under the lock.</summary>
    private void Signal()
    {
        var previous = _changed;
        _changed = NewSignal();
        previous.TrySetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Entry
    {
        public State State { get; set; }

        public DateTimeOffset DueAt { get; set; }

        /// <summary>The stamp seen at the last notify or probe (null: the file was missing then).</summary>
        public FileStamp? Stamp { get; set; }

        public int Attempt { get; set; }

        public bool ChangedWhileInFlight { get; set; }

        public bool RemoveOnComplete { get; set; }
    }
}
