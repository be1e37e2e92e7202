using Imageimportd.Errors;
using Imageimportd.Oci;

namespace Imageimportd.Unpack;

/// <summary>
/// An active snapshot prepared to become <see cref="ChainId"/>: write the layer into <see cref="Mounts"/>, then
/// <see cref="CommitAsync"/>. Disposing it uncommitted removes it, so a failed or abandoned apply leaves nothing active.
/// </summary>
public sealed class PreparedSnapshot(ISnapshotter snapshotter, string key, Digest chainId, IReadOnlyList<Mount> mounts) : IAsyncDisposable
{
    private bool _committed;

    public Digest ChainId { get; } = chainId;

    public IReadOnlyList<Mount> Mounts { get; } = mounts;

    /// <summary>Commits the snapshot under its chain ID; another unpack that committed that name first is as good.</summary>
    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        try
        {
            await snapshotter.CommitAsync(ChainId.Value, key, cancellationToken);
            _committed = true;
        }
        catch (BackendException ex) when (ex.Kind == FailureKind.AlreadyExists)
        {
            // Another unpack of the same layer won the race; its snapshot is as good as ours (ours is removed).
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_committed)
        {
            return;
        }

        try
        {
            await snapshotter.RemoveAsync(key, CancellationToken.None);
        }
        catch (BackendException)
        {
            // The lease's end removes it anyway.
        }
    }
}
