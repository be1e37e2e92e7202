using Imageimportd.Errors;
using Imageimportd.Leases;
using Imageimportd.Oci;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// containerd's lease service in memory: Create on an existing id is AlreadyExists, Delete of a missing lease is success.
/// It keeps the history of creates and deletes so tests can check that every import's lease went away.
/// </summary>
public sealed class InMemoryLeaseManager : ILeaseManager
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, IReadOnlyDictionary<string, string>> _active = new(StringComparer.Ordinal);
    private readonly List<(string Id, IReadOnlyDictionary<string, string> Labels)> _created = [];
    private readonly List<string> _deleted = [];
    private readonly List<(string, Digest)> _content = [];

    /// <summary>When it returns an exception for a lease id, deleting that lease fails with it (and the lease stays).</summary>
    public Func<string, BackendException?>? DeleteFault { get; set; }

    /// <summary>Ids of leases that exist now.</summary>
    public IReadOnlyList<string> Active
    {
        get
        {
            lock (_gate)
            {
                return [.. _active.Keys];
            }
        }
    }

    /// <summary>Every lease ever created, with its labels, in order.</summary>
    public IReadOnlyList<(string Id, IReadOnlyDictionary<string, string> Labels)> Created
    {
        get
        {
            lock (_gate)
            {
                return [.. _created];
            }
        }
    }

    /// <summary>Ids passed to <see cref="DeleteAsync"/> for leases that existed, in order.</summary>
    public IReadOnlyList<string> Deleted
    {
        get
        {
            lock (_gate)
            {
                return [.. _deleted];
            }
        }
    }

    public bool IsActive(string id)
    {
        lock (_gate)
        {
            return _active.ContainsKey(id);
        }
    }

    public ValueTask CreateAsync(string id, IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (string.IsNullOrEmpty(id))
        {
            throw new BackendException(FailureKind.InvalidArgument, "lease id must not be empty");
        }

        lock (_gate)
        {
            if (_active.ContainsKey(id))
            {
                throw new BackendException(FailureKind.AlreadyExists, $"lease {id}: already exists");
            }

            var copy = new Dictionary<string, string>(labels, StringComparer.Ordinal);
            _active[id] = copy;
            _created.Add((id, copy));
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DeleteAsync(string id, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (DeleteFault?.Invoke(id) is { } fault)
        {
            throw fault;
        }

        lock (_gate)
        {
            if (_active.Remove(id))
            {
                _deleted.Add(id);
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask AddContentAsync(string id, Digest digest, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_active.ContainsKey(id))
            {
                throw new BackendException(FailureKind.NotFound, $"lease {id}: not found");
            }

            _content.Add((id, digest));
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Every blob added to a lease with <see cref="AddContentAsync"/>, in order.</summary>
    public IReadOnlyList<(string Lease, Digest Digest)> ContentAdded
    {
        get
        {
            lock (_gate)
            {
                return [.. _content];
            }
        }
    }

    public ValueTask<IReadOnlyList<(string Id, IReadOnlyDictionary<string, string> Labels)>> ListAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var filter = FilterExpression.Parse(filters);
        lock (_gate)
        {
            IReadOnlyList<(string, IReadOnlyDictionary<string, string>)> matches = [.. _active
                .Where(kv => filter.Matches(f => f == "id" ? kv.Key
                    : f.StartsWith("labels.", StringComparison.Ordinal) && kv.Value.TryGetValue(f["labels.".Length..], out var v) ? v
                    : null))
                .OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => (kv.Key, kv.Value))];
            return ValueTask.FromResult(matches);
        }
    }
}
