using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using Imageimportd.Content;
using Imageimportd.Errors;

namespace Imageimportd.Leases;

/// <summary>
/// The lease each import runs under: created with an expiry (the backstop if this process dies), the file it imports,
/// and who made it (<see cref="LeaseOwner"/>, so a later start can tell a crashed run's lease from a live one's:
/// <see cref="StaleLeases"/>). Contract: <see cref="DeleteAsync"/> never throws; a lease containerd could not delete
/// then is remembered and deleted by the next <see cref="CreateAsync"/>, and the import's own outcome stands.
/// </summary>
public sealed class ImportLeases(ILeaseManager leases, TimeSpan expiry)
{
    /// <summary>The label naming the file an import lease was made for.</summary>
    public const string FileLabel = "io.imageimportd.lease";

    private static readonly LeaseOwner? Owner = LeaseOwner.Current(ProcProcessTable.Instance);

    private readonly ConcurrentQueue<string> _orphans = new();

    /// <summary>Deletes leases earlier deletes left behind, then creates a new lease for importing <paramref name="path"/>.</summary>
    public async Task<string> CreateAsync(string path, CancellationToken cancellationToken)
    {
        var count = _orphans.Count;
        for (var i = 0; i < count && _orphans.TryDequeue(out var orphan); i++)
        {
            await DeleteAsync(orphan);
        }

        var lease = $"imageimportd-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
        var labels = new Dictionary<string, string>
        {
            [ContentLabels.GcExpire] = DateTime.UtcNow.Add(expiry).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            [FileLabel] = path,
        };
        if (Owner is not null)
        {
            labels[LeaseOwner.Label] = Owner.ToString();
        }

        await leases.CreateAsync(lease, labels, cancellationToken);
        return lease;
    }

    /// <summary>
    /// Deletes an import's lease (everything written under it becomes collectable unless an image names it). When
    /// containerd does not answer within 10 s the lease is remembered for the next <see cref="CreateAsync"/>.
    /// </summary>
    public async Task DeleteAsync(string lease)
    {
        using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await leases.DeleteAsync(lease, cleanup.Token);
        }
        catch (Exception ex) when (ex is BackendException or OperationCanceledException)
        {
            _orphans.Enqueue(lease);
        }
    }
}
