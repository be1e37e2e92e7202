using Imageimportd.Archive;
using Imageimportd.Errors;
using Imageimportd.Oci;
using Imageimportd.Unpack;
using Imageimportd.Unpack.Direct;

namespace Imageimportd.Import;

/// <summary>
/// Applies layers into their snapshots while their bytes stream to the store: one read of the archive, one hash
/// (the write-content stage's). An <see cref="IBlobSink"/> decorator in front of the write-content stage, for direct
/// apply (<c>--unpack-via direct|auto</c>) with unpack ahead on.
/// <para>
/// It needs the layer order while streaming, and knows it for what unpack ahead calls its guess: a docker-archive
/// written by skopeo or podman starts with its layers, bottom-up, named <c>&lt;sha256&gt;.tar</c> by their (uncompressed)
/// digest, which is then also the diff ID. For each such entry it prepares the snapshot on the chain applied so far,
/// feeds <see cref="LayerApplier"/> from a bounded ring of the entry's bytes, and once the stored blob's digest is known
/// and equals the name, commits the snapshot under the chain ID (the labels are set by <see cref="Unpacker"/> after the
/// archive, as for any layer applied ahead: <see cref="Committed"/>). The first entry of any other kind ends it: what
/// follows is left to unpack ahead and the unpacker, which find these snapshots present.
/// </para>
/// It never breaks or fails the import: a refused or failed apply, a digest that is not the name, a blob the store
/// already had (its bytes are skipped, not read) all remove the snapshot and stop the tee (<see cref="Fault"/> keeps
/// the first error); the later passes do the layer or report what is wrong with it.
/// </summary>
public sealed class LayerTee(IBlobSink inner, Unpacker unpacker, UnpackVia via, Action<string>? report) : IBlobSink
{
    // How far the applier may fall behind the store writes before the archive reader waits for it.
    private const int RingBytes = 4 << 20;

    private readonly HashSet<Digest> _committed = [];
    private byte[]? _ring;
    private Digest? _parent;
    private bool _on = true;

    /// <summary>The chain IDs committed from the stream, one per layer applied.</summary>
    public IReadOnlySet<Digest> Committed => _committed;

    /// <summary>What stopped the tee early, if anything went wrong (kept for the debug log).</summary>
    public Exception? Fault { get; private set; }

    public async ValueTask<StoredBlob> IngestAsync(string path, long size, Digest? claimed, Digest? hint, Stream data, CancellationToken cancellationToken)
    {
        if (!_on || claimed is not null || hint is not { } diffId || !path.EndsWith(".tar", StringComparison.Ordinal))
        {
            // Not (or no longer) in the leading run of <sha256>.tar layers: the order of what follows is unknown here.
            _on = false;
            return await inner.IngestAsync(path, size, claimed, hint, data, cancellationToken);
        }

        var chainId = ChainId.Next(_parent, diffId);
        if (await unpacker.ExistsAsync(chainId, cancellationToken))
        {
            var existing = await inner.IngestAsync(path, size, claimed, hint, data, cancellationToken);
            Continue(existing.Digest == diffId, chainId, applied: false);
            return existing;
        }

        PreparedSnapshot snapshot;
        try
        {
            snapshot = await unpacker.PrepareAsync(chainId, _parent, cancellationToken);
        }
        catch (BackendException ex)
        {
            Stop(ex);
            return await inner.IngestAsync(path, size, claimed, hint, data, cancellationToken);
        }

        await using (snapshot)
        {
            if (Target(snapshot.Mounts) is not { } target)
            {
                _on = false;
                return await inner.IngestAsync(path, size, claimed, hint, data, cancellationToken);
            }

            return await TeeAsync(path, size, diffId, data, snapshot, target, cancellationToken);
        }
    }

    public ValueTask<StoredBlob> IngestAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
        inner.IngestAsync(path, bytes, cancellationToken);

    public ValueTask CompleteAsync(CancellationToken cancellationToken) => inner.CompleteAsync(cancellationToken);

    private async ValueTask<StoredBlob> TeeAsync(string path, long size, Digest diffId, Stream data, PreparedSnapshot snapshot, LayerTarget target, CancellationToken cancellationToken)
    {
        // One buffer for every layer of the import: each layer's apply has ended before the next one starts.
        var ring = new ByteRing(_ring ??= new byte[RingBytes]);
        using var stopApply = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var apply = Task.Run(() => ApplyAsync(target, ring.Reader, stopApply.Token), CancellationToken.None);
        var tee = new TeeStream(data, ring);
        StoredBlob blob;
        try
        {
            blob = await inner.IngestAsync(path, size, null, diffId, tee, cancellationToken);
            ring.Complete();
        }
        catch (Exception ex)
        {
            ring.Complete(ex);
            await stopApply.CancelAsync();
            await apply;
            throw;
        }

        var fault = await apply;
        // Every byte went through the applier and was hashed on the way to the store, and the digest is the name: the
        // applied diff is the layer the name says. A blob the store had already was skipped, not read.
        var whole = !tee.Detached && tee.BytesRead == size && blob.State != BlobState.HintMismatch;
        if (fault is null && whole && blob.Digest == diffId && !MediaTypes.LooksCompressed(blob.Header.Span))
        {
            try
            {
                await snapshot.CommitAsync(cancellationToken);
            }
            catch (BackendException ex)
            {
                Stop(ex);
                return blob;
            }

            Continue(true, snapshot.ChainId, applied: true);
            return blob;
        }

        Stop(fault ?? (whole ? new InvalidDataException($"{path}: not a plain layer named by its digest") : null));
        return blob;
    }

    /// <summary>Writes the layer from the ring; returns the fault, if any. Always reads the ring to its end or leaves it (disposes its reader).</summary>
    private static async Task<Exception?> ApplyAsync(LayerTarget target, Stream tar, CancellationToken cancellationToken)
    {
        await using var _ = tar;
        try
        {
            await new LayerApplier(target).ApplyAsync(tar, cancellationToken);
            // Whatever follows the end-of-archive blocks is part of the diff; it only has to be taken off the ring.
            await tar.CopyToAsync(Stream.Null, cancellationToken);
            return null;
        }
        catch (Exception ex)
        {
            return ex;
        }
    }

    /// <summary>The directory to write, when the way the options ask for is direct apply onto these mounts.</summary>
    private LayerTarget? Target(IReadOnlyList<Mount> mounts)
    {
        if (via == UnpackVia.Auto && !AutoDiffApplier.Choose(mounts, report))
        {
            return null;
        }

        return LayerTarget.FromMounts(mounts, out _);
    }

    private void Continue(bool sameLayer, Digest chainId, bool applied)
    {
        if (!sameLayer)
        {
            _on = false;
            return;
        }

        _parent = chainId;
        if (applied)
        {
            _committed.Add(chainId);
        }
    }

    private void Stop(Exception? fault)
    {
        _on = false;
        Fault ??= fault;
    }
}
