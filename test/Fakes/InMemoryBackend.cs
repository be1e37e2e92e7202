using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Import;
using Imageimportd.Leases;
using Imageimportd.Unpack;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// An <see cref="IImportBackend"/> over the in-memory fakes. Content, snapshots and diffs are namespace-wide, as in
/// containerd, so one store serves every lease; asking for a store under a lease that does not exist fails with
/// NotFound, as containerd fails a call made under a missing lease. The leases each store was asked for are recorded.
/// </summary>
public sealed class InMemoryBackend : IImportBackend
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, InMemorySnapshotter> _snapshotters = new(StringComparer.Ordinal);
    private readonly List<string> _leasesUsed = [];

    public InMemoryBackend()
    {
        DiffApplier = new FakeDiffApplier(ContentStore);
    }

    public InMemoryLeaseManager LeaseManager { get; } = new();

    public InMemoryImageStore ImageStore { get; } = new();

    public InMemoryContentStore ContentStore { get; } = new();

    public FakeDiffApplier DiffApplier { get; }

    public ILeaseManager Leases => LeaseManager;

    public IImageStore Images => ImageStore;

    /// <summary>The lease of every Content, Snapshotter and Differ request, in order.</summary>
    public IReadOnlyList<string> LeasesUsed
    {
        get
        {
            lock (_gate)
            {
                return [.. _leasesUsed];
            }
        }
    }

    /// <summary>The snapshotter of that name (created on first use).</summary>
    public InMemorySnapshotter SnapshotterNamed(string name)
    {
        lock (_gate)
        {
            if (!_snapshotters.TryGetValue(name, out var snapshotter))
            {
                snapshotter = new InMemorySnapshotter(name);
                _snapshotters[name] = snapshotter;
            }

            return snapshotter;
        }
    }

    public IContentStore Content(string lease)
    {
        Use(lease);
        return ContentStore;
    }

    public ISnapshotter Snapshotter(string name, string lease)
    {
        Use(lease);
        return SnapshotterNamed(name);
    }

    public IDiffApplier Differ(string lease)
    {
        Use(lease);
        return DiffApplier;
    }

    private void Use(string lease)
    {
        if (!LeaseManager.IsActive(lease))
        {
            throw new BackendException(FailureKind.NotFound, $"lease {lease}: not found");
        }

        lock (_gate)
        {
            _leasesUsed.Add(lease);
        }
    }
}
