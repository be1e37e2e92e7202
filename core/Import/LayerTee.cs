using System.Threading.Channels;
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
/// digest, which is then also the diff ID. Each such entry's bytes are copied, as they go to the store, into one
/// bounded ring (a segment per layer), and a worker of its own applies them: for each layer it prepares the snapshot on
/// the chain applied so far, feeds <see cref="LayerApplier"/> from the ring, and once the stored blob's digest is known
/// and equals the name, commits the snapshot under the chain ID (the labels are set by <see cref="Unpacker"/> after the
/// archive, as for any layer applied ahead: <see cref="Committed"/>). The first entry of any other kind ends it: what
/// follows is left to unpack ahead and the unpacker, which find these snapshots present.
/// </para>
/// <para>
/// The archive reader does not wait for the worker between layers: containerd's snapshot Commit and the next Prepare
/// (tens of milliseconds each, a metadata transaction and a walk of the layer's files) happen while the next layer
/// streams into the store and the ring. The stored blob handed on completes <see cref="StoredBlob.Committed"/> only once
/// the worker is done with its layer, so unpack ahead never starts on a layer the worker still holds.
/// </para>
/// It never breaks or fails the import: a refused or failed apply, a digest that is not the name, a blob the store
/// already had (its bytes are skipped, not read) all remove the snapshot and stop the tee (<see cref="Fault"/> keeps
/// the first error); the later passes do the layer or report what is wrong with it.
/// </summary>
public sealed class LayerTee(IBlobSink inner, Unpacker unpacker, UnpackVia via, Action<string>? report) : IBlobSink, IAsyncDisposable
{
    // How far the archive reader may run ahead of the applier, across a layer boundary's Commit and Prepare (together
    // about 80 ms on ext4, while the reader streams at ~200 MB/s). Measured on the 1 GiB bench archive, once sessions
    // were opened ahead (ContentWriteStage) so that the reader no longer stalled at the same boundaries: the reader
    // waited for the applier 0.9-1.1 s in all with 8 MiB, 0.5-0.8 s with 12, 0.2-0.6 s with 16; wall 5.8-6.4 s, 5.7-5.9 s,
    // 5.5-5.9 s. Peak RSS is what bounds it: 16 MiB reached 62-65 MiB on plain archives, 12 MiB 57-64 on zstd ones
    // (the decoder's window on top), against the 64 MiB target; 10 leaves that margin.
    private const int RingBytes = 10 << 20;

    private readonly HashSet<Digest> _committed = [];
    private readonly Channel<Layer> _layers = Channel.CreateUnbounded<Layer>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private ByteRing? _ring;
    private Task? _worker;
    private Digest? _parent;
    private volatile bool _on = true;
    private bool _ended;

    /// <summary>The chain IDs committed from the stream, one per layer applied; complete once <see cref="SettleAsync"/> returned.</summary>
    public IReadOnlySet<Digest> Committed => _committed;

    /// <summary>What stopped the tee early, if anything went wrong (kept for the debug log).</summary>
    public Exception? Fault { get; private set; }

    public async ValueTask<StoredBlob> IngestAsync(string path, long size, Digest? claimed, Digest? hint, Stream data, CancellationToken cancellationToken)
    {
        if (!_on || claimed is not null || hint is not { } diffId || !path.EndsWith(".tar", StringComparison.Ordinal))
        {
            // Not (or no longer) in the leading run of <sha256>.tar layers: the order of what follows is unknown here.
            End();
            return await inner.IngestAsync(path, size, claimed, hint, data, cancellationToken);
        }

        var chainId = ChainId.Next(_parent, diffId);
        if (_worker is null)
        {
            // Up to the first layer to apply, each one is looked at here: present already, or prepared to find out
            // whether its mounts can be written directly. From then on the worker prepares each layer on its parent.
            if (await unpacker.ExistsAsync(chainId, cancellationToken))
            {
                var existing = await inner.IngestAsync(path, size, claimed, hint, data, cancellationToken);
                Follow(existing.Digest == diffId, chainId);
                return existing;
            }

            PreparedSnapshot first;
            try
            {
                first = await unpacker.PrepareAsync(chainId, _parent, cancellationToken);
            }
            catch (BackendException ex)
            {
                Stop(ex);
                return await inner.IngestAsync(path, size, claimed, hint, data, cancellationToken);
            }

            if (Target(first.Mounts) is not { } target)
            {
                await first.DisposeAsync();
                End();
                return await inner.IngestAsync(path, size, claimed, hint, data, cancellationToken);
            }

            _ring = new ByteRing(new byte[RingBytes]);
            var firstLayer = new Layer(path, chainId, _parent, diffId, size) { Snapshot = first, Target = target };
            _layers.Writer.TryWrite(firstLayer);
            _worker = Task.Run(() => RunAsync(_ring, cancellationToken), CancellationToken.None);
            return await TeeAsync(firstLayer, data, cancellationToken);
        }

        var layer = new Layer(path, chainId, _parent, diffId, size);
        _layers.Writer.TryWrite(layer);
        return await TeeAsync(layer, data, cancellationToken);
    }

    public ValueTask<StoredBlob> IngestAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
        inner.IngestAsync(path, bytes, cancellationToken);

    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        await SettleAsync();
        await inner.CompleteAsync(cancellationToken);
    }

    /// <summary>Ends the tee and waits for the worker to be done with every layer handed to it (idempotent).</summary>
    public async Task SettleAsync()
    {
        End();
        if (_worker is { } worker)
        {
            await worker;
        }
    }

    public async ValueTask DisposeAsync() => await SettleAsync();

    /// <summary>Streams one layer to the store, copying its bytes into the ring as its own segment; never waits for the worker.</summary>
    private async ValueTask<StoredBlob> TeeAsync(Layer layer, Stream data, CancellationToken cancellationToken)
    {
        var ring = _ring!;
        var tee = new TeeStream(data, ring);
        StoredBlob blob;
        try
        {
            blob = await inner.IngestAsync(layer.Path, layer.Size, null, layer.DiffId, tee, cancellationToken);
        }
        catch (Exception ex)
        {
            ring.EndSegment();
            layer.Verdict.TrySetException(ex);
            throw;
        }

        ring.EndSegment();

        // Every byte went through the applier and was hashed on the way to the store, and the digest is the name: the
        // applied diff is the layer the name says. A blob the store had already was skipped, not read.
        var whole = !tee.Detached && tee.BytesRead == layer.Size && blob.State != BlobState.HintMismatch;
        var same = whole && blob.Digest == layer.DiffId && !MediaTypes.LooksCompressed(blob.Header.Span);
        layer.Verdict.TrySetResult(same ? null : whole ? $"{layer.Path}: not a plain layer named by its digest" : "");
        _parent = layer.ChainId;
        if (!same)
        {
            _on = false;
        }

        return blob with { Committed = Task.WhenAll(blob.Committed, layer.Settled.Task) };
    }

    /// <summary>The worker: applies each layer from its segment of the ring, in order, committing each on the one before.</summary>
    private async Task RunAsync(ByteRing ring, CancellationToken cancellationToken)
    {
        var applying = true;
        try
        {
            await foreach (var layer in _layers.Reader.ReadAllAsync(CancellationToken.None))
            {
                try
                {
                    applying = applying && await ApplyAsync(layer, ring, cancellationToken);
                }
                finally
                {
                    if (layer.Snapshot is { } snapshot)
                    {
                        await snapshot.DisposeAsync(); // removes it unless committed
                    }

                    layer.Settled.TrySetResult();
                }

                if (!applying)
                {
                    // Leave the ring: the archive reader stops copying and goes on at full speed.
                    _on = false;
                    await ring.Reader.DisposeAsync();
                }
            }
        }
        finally
        {
            await ring.Reader.DisposeAsync();
        }
    }

    /// <summary>Applies one layer and commits it; false (the fault kept) when it was not applied.</summary>
    private async Task<bool> ApplyAsync(Layer layer, ByteRing ring, CancellationToken cancellationToken)
    {
        try
        {
            if (layer.Snapshot is null)
            {
                if (await unpacker.ExistsAsync(layer.ChainId, cancellationToken))
                {
                    // Another import committed it meanwhile: as good as ours.
                    await ring.NextSegmentAsync(cancellationToken);
                    return await layer.Verdict.Task is null;
                }

                layer.Snapshot = await unpacker.PrepareAsync(layer.ChainId, layer.Parent, cancellationToken);
                layer.Target = Target(layer.Snapshot.Mounts);
            }

            if (layer.Target is null)
            {
                return false;
            }

            await new LayerApplier(layer.Target).ApplyAsync(ring.Reader, cancellationToken);
            // Whatever follows the end-of-archive blocks is part of the diff; it only has to be taken off the ring.
            await ring.NextSegmentAsync(cancellationToken);
            if (await layer.Verdict.Task is { } wrong)
            {
                Stop(wrong.Length == 0 ? null : new InvalidDataException(wrong));
                return false;
            }

            await layer.Snapshot.CommitAsync(cancellationToken);
            _committed.Add(layer.ChainId);
            return true;
        }
        catch (Exception ex)
        {
            Stop(ex);
            return false;
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

    /// <summary>A layer found present before any was applied: the chain goes on from it when its bytes are what its name says.</summary>
    private void Follow(bool sameLayer, Digest chainId)
    {
        if (sameLayer)
        {
            _parent = chainId;
        }
        else
        {
            End();
        }
    }

    /// <summary>No more layers for the worker: it finishes those it has.</summary>
    private void End()
    {
        _on = false;
        if (!_ended)
        {
            _ended = true;
            _layers.Writer.TryComplete();
            _ring?.Complete();
        }
    }

    private void Stop(Exception? fault)
    {
        _on = false;
        Fault ??= fault;
    }

    /// <summary>One layer handed to the worker.</summary>
    private sealed class Layer(string path, Digest chainId, Digest? parent, Digest diffId, long size)
    {
        public string Path { get; } = path;

        public Digest ChainId { get; } = chainId;

        public Digest? Parent { get; } = parent;

        public Digest DiffId { get; } = diffId;

        public long Size { get; } = size;

        /// <summary>Prepared by the archive reader for the first layer; by the worker for the others.</summary>
        public PreparedSnapshot? Snapshot { get; set; }

        public LayerTarget? Target { get; set; }

        /// <summary>Null when the stored blob is the layer its name says; else why not ("" when its bytes were not all seen).</summary>
        public TaskCompletionSource<string?> Verdict { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes when the worker is done with the layer, applied or not.</summary>
        public TaskCompletionSource Settled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
