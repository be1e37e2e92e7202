using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
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
    public const string LeaseLabel = "io.imageimportd.lease";

    // Who made the lease, so a later start can tell a crashed run's lease from a live one's (StaleLeases).
    private static readonly LeaseOwner? Owner = LeaseOwner.Current(ProcProcessTable.Instance);

    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _orphanLeases = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ImportProgress, bool> _inFlight = new();

    /// <summary>The imports running now, for progress reporting.</summary>
    public IReadOnlyList<ImportProgress> InFlight => [.. _inFlight.Keys];

    public async Task<ImportResult> ImportAsync(string path, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        await DeleteOrphanLeasesAsync();
        var lease = $"imageimportd-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6))}";
        var labels = new Dictionary<string, string>
        {
            [ContentLabels.GcExpire] = DateTime.UtcNow.Add(options.LeaseExpiry).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            [LeaseLabel] = path,
        };
        if (Owner is not null)
        {
            labels[LeaseOwner.Label] = Owner.ToString();
        }

        await backend.Leases.CreateAsync(lease, labels, cancellationToken);
        try
        {
            try
            {
                return await ImportUnderLeaseAsync(path, lease, clock, twins: true, cancellationToken);
            }
            catch (HintMismatchException)
            {
                // A layer was skipped for a twin of what its name promised, and its bytes were something else.
                return await ImportUnderLeaseAsync(path, lease, clock, twins: false, cancellationToken);
            }
        }
        finally
        {
            await DeleteLeaseAsync(lease);
        }
    }

    /// <summary>
    /// Deletes an import's lease. When containerd is down at that moment the lease is remembered and deleted before
    /// the next import (its expiry label is the backstop if there is none), and the import's own error stands.
    /// </summary>
    private async Task DeleteLeaseAsync(string lease)
    {
        using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await backend.Leases.DeleteAsync(lease, cleanup.Token);
        }
        catch (Exception ex) when (ex is BackendException or OperationCanceledException)
        {
            _orphanLeases.Enqueue(lease);
        }
    }

    /// <summary>The layer applier <see cref="ImportOptions.UnpackVia"/> asks for.</summary>
    private IDiffApplier Differ(string lease, IContentStore content) => options.UnpackVia switch
    {
        UnpackVia.Direct => new DirectDiffApplier(content, options.Decompression),
        UnpackVia.Auto => new AutoDiffApplier(backend.Differ(lease), new DirectDiffApplier(content, options.Decompression), options.UnpackViaReport),
        _ => backend.Differ(lease),
    };

    private async Task DeleteOrphanLeasesAsync()
    {
        var count = _orphanLeases.Count;
        for (var i = 0; i < count && _orphanLeases.TryDequeue(out var lease); i++)
        {
            await DeleteLeaseAsync(lease);
        }
    }

    private async Task<ImportResult> ImportUnderLeaseAsync(string path, string lease, Stopwatch clock, bool twins, CancellationToken cancellationToken)
    {
        var content = backend.Content(lease);
        var warnings = new List<string>();
        var unpacker = options.Unpack ? new Unpacker(backend.Snapshotter(options.Snapshotter, lease), Differ(lease, content), content) : null;
        await using var ahead = unpacker is not null && options.UnpackAhead
            ? new UnpackAhead(unpacker, options.Host, cancellationToken)
            : null;
        var layerTwins = twins ? new LeasedLayerTwins(content, backend.Leases, lease) : null;
        await using var ingest = new ContentIngest(content, lease, options.Ingest, options.Limits, ahead, layerTwins);

        ArchiveContents archive;
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
            archive = await new ArchiveReader(options.Limits).ReadAsync(tar, ingest, cancellationToken);
        }
        finally
        {
            _inFlight.TryRemove(progress, out _);
            await file.DisposeAsync();
        }

        var json = new BlobJsonSource(content, options.Limits.MaxMetadataBytes);
        json.AddAll(archive.BlobsByDigest.Values);
        var present = new HashSet<Digest>(archive.BlobsByDigest.Keys);
        Descriptor root;
        if (archive.Format == ArchiveFormat.OciLayout)
        {
            root = new Descriptor(MediaTypes.OciIndex, archive.RootIndex!.Digest, archive.RootIndex.Size);
        }
        else
        {
            root = await new DockerIndexBuilder(content).BuildAsync(archive, new PresenceRecorder(ingest, present), json, cancellationToken);
            await ingest.CompleteAsync(cancellationToken);
        }

        var walk = await new ImportWalk(content, json, options.Host).RunAsync(root, present, cancellationToken);
        var records = Name(path, walk, warnings);
        if (records.Count == 0)
        {
            // A file that names no image has imported nothing: a failure, never a quiet "imported: []" (the daemon
            // would cache it as done). The reasons are the naming and completeness warnings.
            throw new InvalidDataException(walk.Entries.Count == 0
                ? "the file yields no image: its index names no manifest"
                : $"the file yields no image: {string.Join("; ", warnings)}");
        }

        var unpacked = 0;
        if (unpacker is not null)
        {
            HashSet<Digest>? appliedEarlier = null;
            if (ahead is not null)
            {
                await ahead.StopAsync();
                unpacked = ahead.Committed.Count;
                appliedEarlier = [.. ahead.Committed];
            }

            var targets = records.Select(r => r.Entry).DistinctBy(e => e.Target.Digest).ToList();
            foreach (var entry in targets)
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
                    throw Collected(ex);
                }
            }
        }

        await VerifyContentAsync(content, records.Select(r => r.Entry), cancellationToken);
        var images = new List<ImportedImage>();
        foreach (var (name, entry) in records)
        {
            images.Add(await PutImageAsync(name, entry.Target, path, cancellationToken));
        }

        return new ImportResult(path, images, warnings, archive.BytesRead, ingest.BytesSent, unpacked, clock.Elapsed);
    }

    /// <summary>
    /// Before any image record exists, checks that the blobs it needs can still be read. containerd's GC can remove a
    /// blob's file just after this import committed it, when another import's lease ended at that moment (its
    /// metadata sweep and file cleanup straddle our commit); that is a race to retry, never a half image to keep.
    /// </summary>
    private static async Task VerifyContentAsync(IContentStore content, IEnumerable<WalkedImage> entries, CancellationToken cancellationToken)
    {
        var digests = new HashSet<Digest>();
        foreach (var entry in entries)
        {
            digests.Add(entry.Target.Digest);
            if (entry.HostManifest is { } m)
            {
                digests.Add(m.Descriptor.Digest);
                digests.Add(m.Manifest.Config.Digest);
                digests.UnionWith(m.Manifest.Layers.Select(l => l.Digest));
            }
        }

        foreach (var digest in digests)
        {
            try
            {
                await content.ReadAsync(digest, 0, 1, cancellationToken);
            }
            catch (BackendException ex) when (ex.Kind == FailureKind.NotFound)
            {
                throw Collected(ex);
            }
        }
    }

    private static BackendException Collected(BackendException ex) =>
        new(FailureKind.Aborted, $"content was collected by containerd's GC during the import ({ex.Message}); it will be imported again", ex);

    /// <summary>Names every complete root entry (plus its <c>repo@digest</c> twin); the rest become warnings.</summary>
    private List<(string Name, WalkedImage Entry)> Name(string path, WalkResult walk, List<string> warnings)
    {
        var records = new List<(string, WalkedImage)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in walk.Entries)
        {
            var name = ImageNaming.NameOf(entry.Target, options.BaseName, options.TagPrefix, out var whyNot);
            if (name is null)
            {
                warnings.Add(whyNot!);
                continue;
            }

            if (!entry.Complete)
            {
                warnings.Add(entry.Missing.Count == 0
                    ? $"{name}: skipped, it has no manifest for any platform"
                    : $"{name}: skipped, the archive lacks {entry.Missing.Count} blob(s), e.g. {entry.Missing[0]}");
                continue;
            }

            if (seen.Add(name))
            {
                records.Add((name, entry));
            }

            if (ImageNaming.DigestNameOf(name, entry.Target.Digest) is { } digestName && seen.Add(digestName))
            {
                records.Add((digestName, entry));
            }
        }

        return records;
    }

    /// <summary>
    /// Creates the image, or re-points an existing name; writes nothing when it is already as wanted. The pin labels come
    /// from <see cref="ImagePins"/>: an image someone else pinned keeps its pin as it is, never marked as ours.
    /// </summary>
    private async Task<ImportedImage> PutImageAsync(string name, Descriptor target, string path, CancellationToken cancellationToken)
    {
        var existing = await backend.Images.GetAsync(name, cancellationToken);
        if (existing is null)
        {
            try
            {
                await backend.Images.CreateAsync(new ImageRecord(name, target, Wanted(null)), cancellationToken);
                return new ImportedImage(name, target, ImageChange.Created, null);
            }
            catch (BackendException ex) when (ex.Kind == FailureKind.AlreadyExists)
            {
                existing = await backend.Images.GetAsync(name, cancellationToken);
                if (existing is null)
                {
                    throw;
                }
            }
        }

        var labels = Wanted(existing.Labels);
        var sameTarget = existing.Target.Digest == target.Digest && existing.Target.MediaType == target.MediaType;
        // The source label is written with the target; when several files supply the same image, the first keeps it,
        // so re-scanning them costs no writes. Only a missing pin is worth a write on its own.
        var missingLabels = labels
            .Where(l => (!sameTarget || l.Key != ImageLabels.Source || !existing.Labels.ContainsKey(ImageLabels.Source))
                && (!existing.Labels.TryGetValue(l.Key, out var v) || v != l.Value))
            .Select(l => "labels." + l.Key).ToList();
        if (sameTarget && missingLabels.Count == 0)
        {
            return new ImportedImage(name, target, ImageChange.Unchanged, null);
        }

        var fields = new List<string>(missingLabels);
        if (!sameTarget)
        {
            fields.Add("target");
        }

        await backend.Images.UpdateAsync(new ImageRecord(name, target, labels), fields, cancellationToken);
        return sameTarget
            ? new ImportedImage(name, target, ImageChange.Relabeled, null)
            : new ImportedImage(name, target, ImageChange.Repointed, existing.Target.Digest);

        Dictionary<string, string> Wanted(IReadOnlyDictionary<string, string>? current)
        {
            var wanted = new Dictionary<string, string>(StringComparer.Ordinal) { [ImageLabels.Source] = Path.GetFullPath(path) };
            if (options.Pin)
            {
                foreach (var (key, value) in ImagePins.LabelsToPin(current))
                {
                    wanted[key] = value;
                }
            }

            return wanted;
        }
    }

    /// <summary>Notes the digests of blobs the importer generates, so the walk counts them as present.</summary>
    private sealed class PresenceRecorder(IBlobIngest inner, HashSet<Digest> present) : IBlobIngest
    {
        public async ValueTask<StoredBlob> IngestAsync(string path, long size, Digest? claimed, Digest? hint, Stream data, CancellationToken cancellationToken) =>
            Note(await inner.IngestAsync(path, size, claimed, hint, data, cancellationToken));

        public async ValueTask<StoredBlob> IngestAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
            Note(await inner.IngestAsync(path, bytes, cancellationToken));

        public ValueTask CompleteAsync(CancellationToken cancellationToken) => inner.CompleteAsync(cancellationToken);

        private StoredBlob Note(StoredBlob blob)
        {
            present.Add(blob.Digest);
            return blob;
        }
    }
}
