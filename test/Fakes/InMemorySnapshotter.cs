using Imageimportd.Errors;
using Imageimportd.Unpack;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// A snapshotter in memory with containerd's rules: Prepare takes a unique key (AlreadyExists otherwise) on a committed
/// parent (NotFound when it is missing); Commit turns an active key into a committed name (AlreadyExists when the name
/// is taken, leaving the key active); Remove drops a key or name (NotFound when missing, FailedPrecondition when it
/// still has children).
/// </summary>
public sealed class InMemorySnapshotter(string snapshotterName = "overlayfs") : ISnapshotter
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Snapshot> _snapshots = new(StringComparer.Ordinal);
    private readonly List<(string Key, string? Parent)> _prepared = [];
    private readonly List<(string Name, string Key)> _commits = [];
    private readonly List<string> _removed = [];

    public string Name => snapshotterName;

    /// <summary>Runs at the start of every Commit, before any check: a test can commit the same name first to stage a race.</summary>
    public Action<string, string>? BeforeCommit { get; set; }

    /// <summary>Active (prepared, uncommitted) keys.</summary>
    public IReadOnlyList<string> ActiveKeys => Keys(committed: false);

    /// <summary>Committed snapshot names.</summary>
    public IReadOnlyList<string> CommittedNames => Keys(committed: true);

    /// <summary>Every successful Prepare, in order.</summary>
    public IReadOnlyList<(string Key, string? Parent)> Prepared
    {
        get
        {
            lock (_gate)
            {
                return [.. _prepared];
            }
        }
    }

    /// <summary>Every successful Commit, in order.</summary>
    public IReadOnlyList<(string Name, string Key)> Commits
    {
        get
        {
            lock (_gate)
            {
                return [.. _commits];
            }
        }
    }

    /// <summary>Keys or names removed, in order.</summary>
    public IReadOnlyList<string> Removed
    {
        get
        {
            lock (_gate)
            {
                return [.. _removed];
            }
        }
    }

    /// <summary>The parent of a snapshot, or null when it has none; throws NotFound when absent.</summary>
    public string? ParentOf(string keyOrName)
    {
        lock (_gate)
        {
            return _snapshots.TryGetValue(keyOrName, out var s) ? s.Parent : throw NotFound(keyOrName);
        }
    }

    /// <summary>Adds a committed snapshot directly, as an earlier unpack would have left it.</summary>
    public void SeedCommitted(string snapshotName, string? parent = null)
    {
        lock (_gate)
        {
            _snapshots[snapshotName] = new Snapshot(true, parent);
        }
    }

    public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(_snapshots.ContainsKey(key));
        }
    }

    public ValueTask<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (string.IsNullOrEmpty(key))
        {
            throw new BackendException(FailureKind.InvalidArgument, "snapshot key must not be empty");
        }

        lock (_gate)
        {
            if (_snapshots.ContainsKey(key))
            {
                throw new BackendException(FailureKind.AlreadyExists, $"snapshot {key}: already exists");
            }

            if (parent is not null)
            {
                if (!_snapshots.TryGetValue(parent, out var p))
                {
                    throw new BackendException(FailureKind.NotFound, $"parent snapshot {parent}: not found");
                }

                if (!p.Committed)
                {
                    throw new BackendException(FailureKind.InvalidArgument, $"parent snapshot {parent} is not committed");
                }
            }

            _snapshots[key] = new Snapshot(false, parent);
            _prepared.Add((key, parent));
            IReadOnlyList<Mount> mounts = [new Mount("bind", $"/var/lib/fake/{snapshotterName}/{key}", "", ["rw", "rbind"])];
            return ValueTask.FromResult(mounts);
        }
    }

    public ValueTask CommitAsync(string name, string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        BeforeCommit?.Invoke(name, key);
        lock (_gate)
        {
            if (!_snapshots.TryGetValue(key, out var active) || active.Committed)
            {
                throw new BackendException(FailureKind.NotFound, $"active snapshot {key}: not found");
            }

            if (_snapshots.ContainsKey(name))
            {
                throw new BackendException(FailureKind.AlreadyExists, $"snapshot {name}: already exists");
            }

            _snapshots.Remove(key);
            _snapshots[name] = new Snapshot(true, active.Parent);
            _commits.Add((name, key));
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_snapshots.ContainsKey(key))
            {
                throw NotFound(key);
            }

            if (_snapshots.Values.Any(s => s.Parent == key))
            {
                throw new BackendException(FailureKind.FailedPrecondition, $"snapshot {key} has children");
            }

            _snapshots.Remove(key);
            _removed.Add(key);
        }

        return ValueTask.CompletedTask;
    }

    private IReadOnlyList<string> Keys(bool committed)
    {
        lock (_gate)
        {
            return [.. _snapshots.Where(kv => kv.Value.Committed == committed).Select(kv => kv.Key).Order(StringComparer.Ordinal)];
        }
    }

    private static BackendException NotFound(string key) => new(FailureKind.NotFound, $"snapshot {key}: not found");

    private sealed record Snapshot(bool Committed, string? Parent);
}
