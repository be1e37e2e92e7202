namespace Imageimportd.Leases;

/// <summary>
/// containerd leases. Contract: content and snapshots written under a lease survive garbage collection until the lease
/// is deleted (or its <c>containerd.io/gc.expire</c> label passes); deleting a missing lease is success.
/// </summary>
public interface ILeaseManager
{
    ValueTask CreateAsync(string id, IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken);

    ValueTask DeleteAsync(string id, CancellationToken cancellationToken);

    /// <summary>
    /// Adds a blob the store already has to the lease, so garbage collection keeps it while the lease lives. It does
    /// not check that the blob exists (one collected before this call stays collected); NotFound when the lease is gone.
    /// </summary>
    ValueTask AddContentAsync(string id, Oci.Digest digest, CancellationToken cancellationToken);

    /// <summary>Leases matching containerd filter expressions, with their labels.</summary>
    ValueTask<IReadOnlyList<(string Id, IReadOnlyDictionary<string, string> Labels)>> ListAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken);
}
