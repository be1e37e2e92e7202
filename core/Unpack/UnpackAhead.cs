using System.Threading.Channels;
using Imageimportd.Archive;
using Imageimportd.Oci;

namespace Imageimportd.Unpack;

/// <summary>
/// The unpack stage run early: applies layers while the archive is still being read, so a layer is applied while the
/// next one is being written, instead of every layer after the whole archive. It only ever commits a snapshot under
/// the chain ID of the diffs it really applied (the differ's digest is checked), so any snapshot it makes is correct
/// whatever image ends up using it; the <see cref="Unpacker"/> pass after the import stays the authority, finds these
/// snapshots present, and does whatever is left. A failure here is never the import's failure: the plan that met it
/// stops, and the later pass meets (and reports) the same fault if it is real.
/// <para>
/// It learns the layer order two ways. From an image config (for a platform the host runs) and its manifest, in
/// whatever order the archive holds them: a layer is applied once it and the layers below it are committed. And,
/// until the first config is seen, from the archive order itself, for entries named <c>&lt;sha256&gt;.tar</c>: the
/// docker-archive writers that use those names (skopeo, podman) write an image's layers bottom-up before its config.
/// Archives that name blobs otherwise (<c>blobs/sha256/…</c>, <c>&lt;id&gt;/layer.tar</c>) are written in name order,
/// which says nothing of layer order, so nothing is guessed for them.
/// </para>
/// It reads what was stored from its own <see cref="StoredBlobFeed"/> channel, on a task of its own; applies run one at
/// a time, on another; <see cref="StopAsync"/> waits for the one in progress.
/// </summary>
public sealed class UnpackAhead : IAsyncDisposable
{
    private readonly Unpacker _unpacker;
    private readonly Platform _host;
    private readonly Lock _gate = new();
    private readonly Dictionary<Digest, Stored> _stored = [];
    private readonly Dictionary<Digest, IReadOnlyList<Descriptor>> _manifestLayers = [];
    private readonly List<Plan> _plans = [];
    private readonly HashSet<Digest> _present = [];
    private readonly HashSet<Digest> _committed = [];
    private readonly SemaphoreSlim _changed = new(0);
    private readonly CancellationTokenSource _stop;
    private readonly Task _worker;
    private readonly Task _reader;
    private Plan? _guess = new();
    private bool _stopping;

    // For WhenIdleAsync: events taken from the feed; every Signal counts; the worker records the count it had seen when it last found nothing to do.
    private long _accepted;
    private long _signals;
    private long _idleAt = -1;
    private bool _finished;
    private TaskCompletionSource _idleChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="feed">What was stored, in archive order; read to its end (or until disposed).</param>
    public UnpackAhead(Unpacker unpacker, Platform host, ChannelReader<StoredBlobEvent> feed, CancellationToken cancellationToken)
    {
        _unpacker = unpacker;
        _host = host;
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _plans.Add(_guess);
        _worker = Task.Run(RunAsync, CancellationToken.None);
        _reader = Task.Run(() => ReadFeedAsync(feed), CancellationToken.None);
    }

    /// <summary>The chain IDs this stage committed, one per layer it applied; read it after <see cref="StopAsync"/>.</summary>
    public IReadOnlySet<Digest> Committed => _committed;

    /// <summary>The first fault a plan met (logged at debug by the importer; the import does not fail on it).</summary>
    public Exception? FirstFault { get; private set; }

    /// <summary>
    /// Records a snapshot committed by someone else in this import (the streaming layer tee), as if this stage had
    /// applied it: plans find it present, and it counts in <see cref="Committed"/> for labelling.
    /// </summary>
    public void NoteCommitted(Digest chainId)
    {
        lock (_gate)
        {
            _present.Add(chainId);
            _committed.Add(chainId);
        }

        Signal();
    }

    private async Task ReadFeedAsync(ChannelReader<StoredBlobEvent> feed)
    {
        try
        {
            await foreach (var stored in feed.ReadAllAsync(_stop.Token))
            {
                Accept(stored.Path, stored.Blob);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Disposed: the import ended or failed.
        }
    }

    private void Accept(string path, StoredBlob blob)
    {
        lock (_gate)
        {
            _accepted++;
            if (_stopping)
            {
                return;
            }

            var plain = blob.Json is null && !MediaTypes.LooksCompressed(blob.Header.Span);
            _stored[blob.Digest] = new Stored(blob, plain, blob.Size);
            if (blob.Json is { } json)
            {
                Learn(blob.Digest, json);
            }
            else if (_guess is not null && plain && ArchiveReader.HintedDigest(path) is not null && path.EndsWith(".tar", StringComparison.Ordinal))
            {
                _guess.Layers.Add(new Slot(new Descriptor(MediaTypes.DockerLayer, blob.Digest, blob.Size), blob.Digest));
            }
        }

        _ = blob.Committed.ContinueWith(static (_, state) => ((UnpackAhead)state!).Signal(), this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        Signal();
    }

    /// <summary>
    /// Once the feed is closed: takes what is left in it, stops taking new work and waits for the layer being applied,
    /// if any.
    /// </summary>
    public async Task StopAsync()
    {
        await _reader;
        lock (_gate)
        {
            _stopping = true;
        }

        Signal();
        await _worker;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await StopAsync();
        _stop.Dispose();
        _changed.Dispose();
    }

    /// <summary>
    /// Completes once the stage has taken <paramref name="eventsWritten"/> events from its feed and the worker has looked
    /// at everything stored and committed by then and found nothing more it can do (or has stopped): what a test waits
    /// on before asserting that something was not applied.
    /// </summary>
    internal async Task WhenIdleAsync(long eventsWritten)
    {
        long? target = null;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (target is null && _accepted >= eventsWritten)
                {
                    target = Interlocked.Read(ref _signals);
                }

                if (target <= _idleAt || _finished)
                {
                    return;
                }

                changed = _idleChanged.Task;
            }

            await changed;
        }
    }

    private void Signal()
    {
        Interlocked.Increment(ref _signals);
        if (_changed.CurrentCount == 0)
        {
            try
            {
                _changed.Release();
            }
            catch (ObjectDisposedException)
            {
                // A commit finished after the import ended: nobody is waiting.
            }
        }
    }

    /// <summary>Reads a config or manifest into the plans (under the lock).</summary>
    private void Learn(Digest digest, byte[] json)
    {
        try
        {
            var mediaType = ImageJson.PeekMediaType(json);
            if (MediaTypes.IsManifest(mediaType))
            {
                LearnManifest(ImageJson.ParseManifest(json, digest.Value));
                return;
            }

            if (mediaType is not null && !MediaTypes.IsConfig(mediaType))
            {
                return;
            }

            var config = ImageJson.ParseConfig(json, digest.Value);
            if (config.DiffIds.Count == 0)
            {
                if (mediaType is null)
                {
                    // OCI lets a manifest leave out its media type.
                    LearnManifest(ImageJson.ParseManifest(json, digest.Value));
                }

                return;
            }

            if (_guess is not null)
            {
                // From here on the configs say what the order is.
                _plans.Remove(_guess);
                _guess = null;
            }

            if (!_host.Runs(config.Platform) || _plans.Any(p => p.Config == digest))
            {
                return;
            }

            var known = new Plan { Config = digest };
            known.Layers.AddRange(config.DiffIds.Select(d => new Slot(null, d)));
            if (_manifestLayers.TryGetValue(digest, out var manifestLayers))
            {
                known.Attach(manifestLayers);
            }

            _plans.Add(known);
        }
        catch (InvalidDataException)
        {
            // Not an image document; the import walk reports what matters.
        }
    }

    private void LearnManifest(ImageManifest manifest)
    {
        var layers = manifest.Layers.Where(l => MediaTypes.IsLayer(l.MediaType)).ToList();
        _manifestLayers[manifest.Config.Digest] = layers;
        foreach (var plan in _plans.Where(p => p.Config == manifest.Config.Digest))
        {
            plan.Attach(layers);
        }
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        try
        {
            while (true)
            {
                Step? step;
                lock (_gate)
                {
                    if (_stopping)
                    {
                        return;
                    }

                    var seen = Interlocked.Read(ref _signals);
                    step = NextStep();
                    if (step is null)
                    {
                        _idleAt = seen;
                        PulseIdle();
                    }
                }

                if (step is null)
                {
                    await _changed.WaitAsync(token);
                    continue;
                }

                await RunStepAsync(step, token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // The import ended or failed.
        }
        finally
        {
            lock (_gate)
            {
                _finished = true;
                PulseIdle();
            }
        }
    }

    /// <summary>Wakes <see cref="WhenIdleAsync"/> callers to look again (under the lock).</summary>
    private void PulseIdle()
    {
        var changed = _idleChanged;
        _idleChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        changed.TrySetResult();
    }

    /// <summary>The first plan whose next layer is committed, with its chain below it in place (under the lock).</summary>
    private Step? NextStep()
    {
        foreach (var plan in _plans)
        {
            if (plan.Dead || plan.Next == plan.Layers.Count)
            {
                continue;
            }

            var slot = plan.Layers[plan.Next];
            var layer = slot.Layer;
            if (layer is null && _stored.TryGetValue(slot.DiffId, out var same) && same.Plain)
            {
                // An uncompressed layer's blob digest is its diff ID.
                layer = new Descriptor(MediaTypes.DockerLayer, slot.DiffId, same.Size);
            }

            if (layer is null || !_stored.TryGetValue(layer.Digest, out var stored) || !stored.Blob.Committed.IsCompleted)
            {
                continue;
            }

            // A blob that is not in the store (substituted, or its commit failed) cannot be applied, but its snapshot may
            // already be there, and then the layers above it can go on.
            return new Step(plan, stored.Blob.InStore ? layer : null, slot.DiffId, ChainId.Next(plan.Parent, slot.DiffId));
        }

        return null;
    }

    private async Task RunStepAsync(Step step, CancellationToken token)
    {
        try
        {
            bool present;
            lock (_gate)
            {
                present = _present.Contains(step.ChainId);
            }

            if (!present && !await _unpacker.ExistsAsync(step.ChainId, token))
            {
                if (step.Layer is null)
                {
                    lock (_gate)
                    {
                        step.Plan.Dead = true;
                    }

                    return;
                }

                await _unpacker.ApplyLayerAsync(step.Layer, step.DiffId, step.ChainId, step.Plan.Parent, token);
                lock (_gate)
                {
                    _committed.Add(step.ChainId);
                }
            }

            lock (_gate)
            {
                _present.Add(step.ChainId);
                step.Plan.Parent = step.ChainId;
                step.Plan.Next++;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !token.IsCancellationRequested)
        {
            lock (_gate)
            {
                step.Plan.Dead = true;
                FirstFault ??= ex;
            }
        }
    }

    private sealed record Stored(StoredBlob Blob, bool Plain, long Size);

    /// <summary>One layer of a plan: its blob once known, and the diff ID it must apply as.</summary>
    private sealed record Slot(Descriptor? Layer, Digest DiffId);

    /// <summary>Applies <see cref="Layer"/> as <see cref="ChainId"/>; with no layer, only finds that snapshot present.</summary>
    private sealed record Step(Plan Plan, Descriptor? Layer, Digest DiffId, Digest ChainId);

    /// <summary>A layer order: an image config's (<see cref="Config"/> set), or the archive's own (a guess).</summary>
    private sealed class Plan
    {
        public Digest? Config { get; init; }

        public List<Slot> Layers { get; } = [];

        public int Next { get; set; }

        public Digest? Parent { get; set; }

        public bool Dead { get; set; }

        /// <summary>Gives the config's diff IDs their blobs, from the manifest that names this config.</summary>
        public void Attach(IReadOnlyList<Descriptor> layers)
        {
            if (layers.Count != Layers.Count)
            {
                return;
            }

            for (var i = 0; i < layers.Count; i++)
            {
                Layers[i] = Layers[i] with { Layer = layers[i] };
            }
        }
    }
}
