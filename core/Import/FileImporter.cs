using System.Diagnostics;
using Imageimportd.Archive;
using Imageimportd.Compression;
using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Leases;
using Imageimportd.Oci;
using Imageimportd.Unpack;
using Imageimportd.Unpack.Direct;

namespace Imageimportd.Import;

/// <summary>
/// Imports one archive file: read archive → write content → create images → unpack, all under one lease made for
/// this import and deleted at its end. Image records are written last, after unpacking, so no image is visible
/// before it is complete and runnable. A failure leaves no image behind, and the lease takes the partial content.
/// </summary>
public sealed class FileImporter(IImportBackend backend, ImportOptions options)
{
    private readonly ImportLeases _leases = new(backend.Leases, options.LeaseExpiry);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ImportProgress, bool> _inFlight = new();

    /// <summary>The imports running now, for progress reporting.</summary>
    public IReadOnlyList<ImportProgress> InFlight => [.. _inFlight.Keys];

    public async Task<ImportResult> ImportAsync(string path, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var lease = await _leases.CreateAsync(path, cancellationToken);
        try
        {
            // A layer left unsent for its substitute held other bytes than its name said: read again, sending everything.
            return await ImportUnderLeaseAsync(path, lease, clock, substitute: true, cancellationToken)
                ?? await ImportUnderLeaseAsync(path, lease, clock, substitute: false, cancellationToken)
                ?? throw new InvalidOperationException("a hint mismatch without layer substitution");
        }
        finally
        {
            await _leases.DeleteAsync(lease);
        }
    }

    /// <summary>The layer applier <see cref="ImportOptions.UnpackVia"/> asks for.</summary>
    private IDiffApplier Differ(string lease, IContentStore content) => options.UnpackVia switch
    {
        UnpackVia.Direct => new DirectDiffApplier(content, options.Decompression),
        UnpackVia.Auto => new AutoDiffApplier(backend.Differ(lease), new DirectDiffApplier(content, options.Decompression), options.UnpackViaReport),
        _ => backend.Differ(lease),
    };

    /// <summary>
    /// The stages of one import, in order. Returns null when the archive must be read again without layer substitution
    /// (a blob's bytes were not what its name hinted at, and were only hashed).
    /// </summary>
    private async Task<ImportResult?> ImportUnderLeaseAsync(string path, string lease, Stopwatch clock, bool substitute, CancellationToken cancellationToken)
    {
        var content = backend.Content(lease);
        var unpacker = options.Unpack ? new Unpacker(backend.Snapshotter(options.Snapshotter, lease), Differ(lease, content), content) : null;

        // Read the archive into the store: reader -> feed -> [layer tee ->] [substitution ->] content write; the feed's
        // readers (presence, unpack ahead) consume what was stored, each on its own task.
        await using var write = new ContentWriteStage(content, lease, options.ContentWrite, options.Limits);
        IBlobSink sink = substitute ? new LayerSubstitution(write, content, backend.Leases, lease, options.ContentWrite.ChunkBytes) : write;
        await using var tee = unpacker is not null && options.UnpackAhead && options.UnpackVia != UnpackVia.Diff
            ? new LayerTee(sink, unpacker, options.UnpackVia, options.UnpackViaReport)
            : null;
        var feed = new StoredBlobFeed(tee ?? sink);
        var present = new PresentBlobs(feed.Subscribe());
        await using var ahead = unpacker is not null && options.UnpackAhead ? new UnpackAhead(unpacker, options.Host, feed.Subscribe(), cancellationToken) : null;
        var (archive, root, json) = await ReadAsync(path, feed, content, cancellationToken);
        if (archive.HintMismatch is not null)
        {
            return null;
        }

        await present.WhenDoneAsync();
        if (tee is not null)
        {
            await tee.SettleAsync();
        }

        // Decide which images exist, unpack them, then (last) write their records.
        var warnings = new List<string>();
        var walk = await new ImportWalk(content, json, options.Host).RunAsync(root, present.Digests, cancellationToken);
        var records = ImageNames.For(walk, options.BaseName, options.TagPrefix, warnings);
        if (records.Count == 0)
        {
            // A file that names no image has imported nothing: a failure, never a quiet "imported: []" (the daemon
            // would cache it as done). The reasons are the naming and completeness warnings.
            throw new InvalidDataException(walk.Entries.Count == 0
                ? "the file yields no image: its index names no manifest"
                : $"the file yields no image: {string.Join("; ", warnings)}");
        }

        var unpacked = unpacker is null ? 0 : await UnpackAsync(unpacker, ahead, tee, records, warnings, cancellationToken);
        await CollectedContent.ThrowIfAnyCollectedAsync(content, records.Select(r => r.Entry), cancellationToken);
        var images = await PutImagesAsync(path, records, cancellationToken);
        return new ImportResult(path, images, warnings, archive.BytesRead, write.BytesSent, unpacked, clock.Elapsed)
        {
            UnpackAheadFault = ahead?.FirstFault ?? tee?.Fault,
            LayersAppliedFromStream = tee?.Committed.Count ?? 0,
        };
    }

    /// <summary>
    /// Reads the archive through <paramref name="feed"/> and, for a docker archive, generates its manifests and index the
    /// same way; returns the root index and the JSON documents seen. Closes the feed, whatever happens.
    /// </summary>
    private async Task<(ArchiveContents Archive, Descriptor Root, BlobJsonSource Json)> ReadAsync(string path, StoredBlobFeed feed, IContentStore content, CancellationToken cancellationToken)
    {
        try
        {
            var archive = await ReadArchiveAsync(path, feed, cancellationToken);
            var json = new BlobJsonSource(content, options.Limits.MaxMetadataBytes);
            if (archive.HintMismatch is not null)
            {
                return (archive, new Descriptor(MediaTypes.OciIndex, default, 0), json);
            }

            json.AddAll(archive.BlobsByDigest.Values);
            if (archive.Format == ArchiveFormat.OciLayout)
            {
                return (archive, new Descriptor(MediaTypes.OciIndex, archive.RootIndex!.Digest, archive.RootIndex.Size), json);
            }

            var root = await new DockerIndexBuilder(content).BuildAsync(archive, feed, json, cancellationToken);
            await feed.CompleteAsync(cancellationToken);
            return (archive, root, json);
        }
        finally
        {
            feed.Close();
        }
    }

    private async Task<ArchiveContents> ReadArchiveAsync(string path, IBlobSink sink, CancellationToken cancellationToken)
    {
        var file = Scan.SafeFile.OpenRead(path, 1 << 16, out var status);
        if (status.Size == 0)
        {
            await file.DisposeAsync();
            throw new InvalidDataException("empty archive: the file is 0 bytes");
        }

        var progress = new ImportProgress(path, status.Size);
        _inFlight[progress] = true;
        try
        {
            var decompressed = await Decompressor.OpenAsync(new ProgressStream(file, progress), options.Decompression, cancellationToken);
            await using var tar = new ExpansionGuardStream(decompressed, options.Limits);
            SparseFiles.ThrowIfSparse(status, decompressed.Kind);
            return await new ArchiveReader(options.Limits).ReadAsync(tar, sink, cancellationToken);
        }
        finally
        {
            _inFlight.TryRemove(progress, out _);
            await file.DisposeAsync();
        }
    }

    /// <summary>
    /// Unpacks the host manifest of every image to be named: what the layer tee and unpack ahead did is found in place
    /// (and labelled as if applied now), the rest is applied. Returns the number of layers applied in this import.
    /// </summary>
    private async Task<int> UnpackAsync(Unpacker unpacker, UnpackAhead? ahead, LayerTee? tee, List<(string Name, WalkedImage Entry)> records, List<string> warnings, CancellationToken cancellationToken)
    {
        var appliedEarlier = new HashSet<Digest>(tee?.Committed ?? new HashSet<Digest>());
        if (ahead is not null)
        {
            await ahead.StopAsync();
            appliedEarlier.UnionWith(ahead.Committed);
        }

        var unpacked = appliedEarlier.Count;

        foreach (var entry in records.Select(r => r.Entry).DistinctBy(e => e.Target.Digest))
        {
            if (entry.HostManifest is null)
            {
                warnings.Add(entry.UnknownMediaType is { } type
                    ? $"{entry.Target.Digest}: unknown media type {type} (not an image manifest or index); not unpacked"
                    : $"{entry.Target.Digest}: no manifest for {options.Host}; not unpacked");
                continue;
            }

            try
            {
                unpacked += await unpacker.UnpackAsync(entry.HostManifest, appliedEarlier, cancellationToken);
            }
            catch (BackendException ex) when (ex.Kind == FailureKind.NotFound)
            {
                throw CollectedContent.Error(ex);
            }
        }

        return unpacked;
    }

    /// <summary>Writes the image records, last: creates, re-points or leaves each name (see <see cref="ImageRecords"/>).</summary>
    private async Task<List<ImportedImage>> PutImagesAsync(string path, List<(string Name, WalkedImage Entry)> records, CancellationToken cancellationToken)
    {
        var images = new List<ImportedImage>();
        var store = new ImageRecords(backend.Images);
        var source = Path.GetFullPath(path);
        foreach (var (name, entry) in records)
        {
            var (change, previous) = await store.PutAsync(name, entry.Target, source, options.Pin, cancellationToken);
            images.Add(new ImportedImage(name, entry.Target, change, previous));
        }

        return images;
    }
}
