namespace Imageimportd.Leases;

/// <summary>
/// Removes import leases left by an imageimportd that was killed mid-import, so their partial content is collected
/// now rather than when the lease's expiry passes. A lease is stale when its <see cref="LeaseOwner"/> is gone; a lease
/// without an owner label is left to its expiry.
/// </summary>
public static class StaleLeases
{
    public static async Task<IReadOnlyList<string>> RemoveAsync(ILeaseManager leases, IProcessTable processes, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        var ours = await leases.ListAsync([$"labels.\"{LeaseOwner.Label}\""], cancellationToken);
        foreach (var (id, labels) in ours)
        {
            if (labels.TryGetValue(LeaseOwner.Label, out var text)
                && LeaseOwner.Parse(text) is { } owner
                && owner.IsGone(processes))
            {
                await leases.DeleteAsync(id, cancellationToken);
                removed.Add(id);
            }
        }

        return removed;
    }
}
