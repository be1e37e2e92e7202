using System.Diagnostics;
using Imageimportd.Errors;
using Imageimportd.Images;

namespace Imageimportd.Pull;

/// <summary>
/// Makes the images of a pull list present and pinned. Per entry: CRI ImageStatus; when absent, CRI PullImage; then
/// the pin labels of <see cref="ImageRecords"/> (unless <see cref="PullListOptions.Pin"/> is off) and
/// <c>io.imageimportd.source</c> on the image record named by the reference and on its <c>repo@sha256:…</c> digest name when
/// that exists. Labels already there are not written again, so a second run over the same list writes nothing; a
/// source label another file already set is kept (as the importer keeps the first archive's), so two lists naming
/// the same image do not take turns rewriting it. At most <see cref="PullListOptions.MaxParallelPulls"/> entries at
/// once. One entry's failure never stops the others; it is returned, not logged (the caller logs the result once).
/// Cancellation throws <see cref="OperationCanceledException"/>. The image store must be containerd's k8s.io
/// namespace, where CRI keeps its images.
/// </summary>
public sealed class PullListRunner
{
    private readonly IImagePuller _puller;
    private readonly IImageStore _images;
    private readonly ImageRecords _records;
    private readonly PullListOptions _options;
    private readonly string _source;

    public PullListRunner(IImagePuller puller, IImageStore images, PullListOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxParallelPulls, 1);
        _puller = puller;
        _images = images;
        _records = new ImageRecords(images);
        _options = options;
        _source = Path.GetFullPath(options.Source);
    }

    public async Task<PullListResult> RunAsync(IReadOnlyList<PullEntry> entries, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var results = new PullEntryResult[entries.Count];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = _options.MaxParallelPulls, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, entries.Count), parallel, async (i, ct) => results[i] = await RunOneAsync(entries[i], ct));
        return new PullListResult(_source, results, Stopwatch.GetElapsedTime(started));
    }

    private async Task<PullEntryResult> RunOneAsync(PullEntry entry, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        string? imageId = null;
        var outcome = PullOutcome.AlreadyPresent;
        try
        {
            imageId = await _puller.StatusAsync(entry.Reference, cancellationToken);
            if (imageId is null)
            {
                imageId = await _puller.PullAsync(entry.Reference, cancellationToken);
                outcome = PullOutcome.Pulled;
            }

            var labeled = await LabelAsync(entry.Reference, cancellationToken);
            if (labeled is null)
            {
                // CRI answered for the name but the store has no such record: the store is not k8s.io, or the image
                // was removed in between. Neither is fixed by retrying this soon, so not transient.
                return Failed(entry, imageId, outcome, $"CRI reports {entry.Reference} present but the image store has no record of that name (is the store in namespace k8s.io?)", transient: false, started);
            }

            return new PullEntryResult(entry, outcome, imageId, labeled, null, false, Stopwatch.GetElapsedTime(started));
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested)
        {
            // gRPC reports a cancelled call as a BackendException; the run was cancelled, not the entry failed.
            throw new OperationCanceledException($"pull list {_source} cancelled", ex, cancellationToken);
        }
        catch (BackendException ex)
        {
            return Failed(entry, imageId, outcome, ex.Message, RetryPolicy.IsTransient(ex), started);
        }
        catch (Exception ex)
        {
            return Failed(entry, imageId, outcome, ex.Message, transient: false, started);
        }
    }

    private static PullEntryResult Failed(PullEntry entry, string? imageId, PullOutcome reached, string reason, bool transient, long started)
    {
        // A failure after the pull leaves the image present but unpinned; say so, kubelet's GC may take it.
        var prefix = reached == PullOutcome.Pulled ? "pulled, but not labelled: " : imageId is not null ? "present, but not labelled: " : "";
        return new PullEntryResult(entry, PullOutcome.Failed, imageId, [], prefix + reason, transient, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>Labels the record and its digest name's record; returns the names written, or null when the record is missing.</summary>
    private async Task<IReadOnlyList<string>?> LabelAsync(string reference, CancellationToken cancellationToken)
    {
        var record = await _images.GetAsync(reference, cancellationToken);
        if (record is null)
        {
            return null;
        }

        var written = new List<string>();
        if (await LabelOneAsync(record, cancellationToken))
        {
            written.Add(record.Name);
        }

        if (ImageNaming.DigestNameOf(reference, record.Target.Digest) is { } digestName
            && await _images.GetAsync(digestName, cancellationToken) is { } byDigest
            && await LabelOneAsync(byDigest, cancellationToken))
        {
            written.Add(byDigest.Name);
        }

        return written;
    }

    /// <summary>Writes the labels the record lacks, and nothing when it lacks none; true when it wrote.</summary>
    private Task<bool> LabelOneAsync(ImageRecord record, CancellationToken cancellationToken) =>
        _records.AddLabelsAsync(record, _source, _options.Pin, cancellationToken);
}
