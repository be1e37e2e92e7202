using System.Collections.Concurrent;
using Imageimportd.Errors;
using Imageimportd.Import;
using Imageimportd.Observe;
using Imageimportd.Queue;

namespace Imageimportd.Metrics;

/// <summary>
/// The daemon's Prometheus metrics, counted from the observer calls and rendered on demand by <see cref="Render"/>.
/// Counters only go up; gauges (queue depth, in flight) are read from the daemon's view at render time.
/// </summary>
public sealed class DaemonMetrics(TimeProvider time) : IDaemonObserver
{
    private static readonly double[] DurationBounds = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

    private readonly Histogram _duration = new(DurationBounds);
    private readonly ConcurrentDictionary<string, long> _failed = new(StringComparer.Ordinal);
    private IDaemonView? _view;
    private long _imported;
    private long _unchanged;
    private long _bytesRead;
    private long _bytesSent;
    private long _pullLists;
    private long _pullImages;
    private long _scans;
    private long _lastScanUnixMs;
    private int _ready;

    // -1 no import has told yet: the daemon starts only once containerd answered, so that counts as up; 0 unreachable.
    private int _containerdUp = -1;

    public void Attach(IDaemonView view) => _view = view;

    public void ScanCompleted(bool initial)
    {
        Interlocked.Increment(ref _scans);
        Interlocked.Exchange(ref _lastScanUnixMs, time.GetUtcNow().ToUnixTimeMilliseconds());
    }

    public void FileUnchanged(string path) => Interlocked.Increment(ref _unchanged);

    public void ImportStarted(string path)
    {
    }

    public void ImportSucceeded(string path, ImportResult? result, IReadOnlyList<string> images)
    {
        Interlocked.Exchange(ref _containerdUp, 1);
        if (result is null)
        {
            Interlocked.Increment(ref _pullLists);
            Interlocked.Add(ref _pullImages, images.Count);
            return;
        }

        var unchanged = result.Images.Count > 0 && result.Images.All(i => i.Change == Images.ImageChange.Unchanged);
        Interlocked.Increment(ref unchanged ? ref _unchanged : ref _imported);
        Interlocked.Add(ref _bytesRead, result.BytesRead);
        Interlocked.Add(ref _bytesSent, result.BytesSent);
        _duration.Observe(result.Duration.TotalSeconds);
    }

    public void ImportFailed(string path, Exception error, ImportOutcomeKind kind, TimeSpan duration)
    {
        var failure = FailureDescription.Of(error);
        _failed.AddOrUpdate(failure.Class, 1, (_, n) => n + 1);
        if (failure.BackendUnreachable)
        {
            Interlocked.Exchange(ref _containerdUp, 0);
        }
    }

    public void FileRemoved(string path)
    {
    }

    public void Ready() => Interlocked.Exchange(ref _ready, 1);

    public string Render()
    {
        var w = new ExpositionWriter();
        w.Family("imageimportd_files_total", "counter", "Archive files handled, by outcome (imported: something was written; unchanged: nothing to write).");
        w.Sample("imageimportd_files_total", Interlocked.Read(ref _imported), ("outcome", "imported"));
        w.Sample("imageimportd_files_total", Interlocked.Read(ref _unchanged), ("outcome", "unchanged"));
        w.Family("imageimportd_files_failed_total", "counter", "Failed imports, by cause class.");
        foreach (var (cause, failures) in _failed.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            w.Sample("imageimportd_files_failed_total", failures, ("cause", cause));
        }

        w.Family("imageimportd_read_bytes_total", "counter", "Archive bytes read by successful imports.");
        w.Sample("imageimportd_read_bytes_total", Interlocked.Read(ref _bytesRead));
        w.Family("imageimportd_sent_bytes_total", "counter", "Bytes sent to containerd's content store by successful imports.");
        w.Sample("imageimportd_sent_bytes_total", Interlocked.Read(ref _bytesSent));

        w.Family("imageimportd_import_duration_seconds", "histogram", "Duration of successful archive imports.");
        var (cumulative, sum, count) = _duration.Read();
        for (var i = 0; i < DurationBounds.Length; i++)
        {
            w.Sample("imageimportd_import_duration_seconds_bucket", cumulative[i], ("le", ExpositionWriter.Format(DurationBounds[i])));
        }

        w.Sample("imageimportd_import_duration_seconds_bucket", cumulative[^1], ("le", "+Inf"));
        w.Sample("imageimportd_import_duration_seconds_sum", sum);
        w.Sample("imageimportd_import_duration_seconds_count", count);

        w.Family("imageimportd_pull_lists_total", "counter", "Pull lists (.txt) handled successfully.");
        w.Sample("imageimportd_pull_lists_total", Interlocked.Read(ref _pullLists));
        w.Family("imageimportd_pull_list_images_total", "counter", "Images made present by handled pull lists (already present or pulled).");
        w.Sample("imageimportd_pull_list_images_total", Interlocked.Read(ref _pullImages));

        w.Family("imageimportd_queue_depth", "gauge", "Files waiting, retrying or importing (bad files waiting for a change excluded).");
        w.Sample("imageimportd_queue_depth", _view?.QueueDepth ?? 0);
        w.Family("imageimportd_imports_in_flight", "gauge", "Imports running now.");
        w.Sample("imageimportd_imports_in_flight", _view?.InFlight.Count ?? 0);
        w.Family("imageimportd_ready", "gauge", "1 once the initial pass over the images directory is done.");
        w.Sample("imageimportd_ready", Volatile.Read(ref _ready));
        w.Family("imageimportd_containerd_up", "gauge", "1 when the last call to containerd got through, 0 when it was unavailable.");
        w.Sample("imageimportd_containerd_up", Volatile.Read(ref _containerdUp) == 0 ? 0 : 1);
        w.Family("imageimportd_full_scans_total", "counter", "Full scans of the images directory.");
        w.Sample("imageimportd_full_scans_total", Interlocked.Read(ref _scans));
        w.Family("imageimportd_last_full_scan_timestamp_seconds", "gauge", "Unix time the last full scan ended.");
        w.Sample("imageimportd_last_full_scan_timestamp_seconds", Interlocked.Read(ref _lastScanUnixMs) / 1000.0);
        return w.ToString();
    }
}
