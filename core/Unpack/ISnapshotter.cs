namespace Imageimportd.Unpack;

/// <summary>
/// One containerd snapshotter. Contract: committed snapshots are named by chain ID; <see cref="PrepareAsync"/> fails
/// with AlreadyExists when the key is taken and NotFound when the parent is missing; <see cref="CommitAsync"/> fails
/// with AlreadyExists when another unpack committed that name first (which is success for us).
/// </summary>
public interface ISnapshotter
{
    string Name { get; }

    /// <summary>True when a snapshot with this key or name exists.</summary>
    ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken cancellationToken);

    ValueTask CommitAsync(string name, string key, CancellationToken cancellationToken);

    ValueTask RemoveAsync(string key, CancellationToken cancellationToken);
}
