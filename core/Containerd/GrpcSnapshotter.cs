using Imageimportd.Errors;
using Imageimportd.Proto.Snapshots;
using Imageimportd.Unpack;

namespace Imageimportd.Containerd;

/// <summary>One of containerd's snapshotters behind <see cref="ISnapshotter"/>; calls carry the import's lease.</summary>
internal sealed class GrpcSnapshotter(ContainerdClient client, string name, string? lease) : ISnapshotter
{
    public string Name => name;

    public async ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await ContainerdErrors.Call($"stat snapshot {key}", client.Snapshots.StatAsync(new StatSnapshotRequest { Snapshotter = name, Key = key }, client.Headers(lease), cancellationToken: cancellationToken));
            return true;
        }
        catch (BackendException ex) when (ex.Kind == FailureKind.NotFound)
        {
            return false;
        }
    }

    public async ValueTask<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken cancellationToken)
    {
        var response = await ContainerdErrors.Call($"prepare snapshot {key}", client.Snapshots.PrepareAsync(
            new PrepareSnapshotRequest { Snapshotter = name, Key = key, Parent = parent ?? "" }, client.Headers(lease), cancellationToken: cancellationToken));
        return response.Mounts.Select(m => new Mount(m.Type, m.Source, m.Target, m.Options.ToList())).ToList();
    }

    public async ValueTask CommitAsync(string snapshotName, string key, CancellationToken cancellationToken) =>
        await ContainerdErrors.Call($"commit snapshot {snapshotName}", client.Snapshots.CommitAsync(
            new CommitSnapshotRequest { Snapshotter = name, Name = snapshotName, Key = key }, client.Headers(lease), cancellationToken: cancellationToken));

    public async ValueTask RemoveAsync(string key, CancellationToken cancellationToken) =>
        await ContainerdErrors.Call($"remove snapshot {key}", client.Snapshots.RemoveAsync(
            new RemoveSnapshotRequest { Snapshotter = name, Key = key }, client.Headers(lease), cancellationToken: cancellationToken));
}
