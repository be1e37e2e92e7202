using System.Text.Json;
using Imageimportd.Errors;
using Imageimportd.Import;
using Imageimportd.Queue;

namespace Imageimportd.Observe;

/// <summary>
/// Keeps the daemon's state file for <c>imageimportd status</c>: each file's state (queued, importing with progress,
/// imported, unchanged, failed with cause and next retry), whether the initial pass is done, whether containerd
/// answers. Written atomically (temp file + rename) at most once per <see cref="Interval"/>, and only when something
/// changed or an import is in flight; removed when the daemon stops, so a missing file means no daemon.
/// </summary>
public sealed class StatusFile : IDaemonObserver
{
    private readonly string _path;
    private readonly string _imagesDirectory;
    private readonly string _containerdAddress;
    private readonly TimeProvider _time;
    private readonly DateTimeOffset _started;
    private readonly Lock _gate = new();

    // Guarded by _gate.
    private readonly SortedDictionary<string, FileImportState> _files = new(StringComparer.Ordinal);
    private IDaemonView? _view;
    private bool _dirty = true;
    private bool _initialPassDone;
    private bool _ready;
    private bool? _containerdReachable;
    private DateTimeOffset? _lastFullScan;

    public StatusFile(string path, string imagesDirectory, string containerdAddress, TimeProvider time)
    {
        _path = path;
        _imagesDirectory = imagesDirectory;
        _containerdAddress = containerdAddress;
        _time = time;
        _started = time.GetUtcNow();
    }

    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(1);

    public string FilePath => _path;

    public void Attach(IDaemonView view)
    {
        lock (_gate)
        {
            _view = view;
            _dirty = true;
        }
    }

    /// <summary>containerd answered (or, with false, did not): said before the daemon starts, while it waits.</summary>
    public void ContainerdReachable(bool reachable) => Update(() => _containerdReachable = reachable);

    public void ScanCompleted(bool initial) => Update(() => _lastFullScan = _time.GetUtcNow());

    public void FileUnchanged(string path) => Update(() => _files[path] = new FileImportState("unchanged", _time.GetUtcNow(), _files.TryGetValue(path, out var f) ? f.Images : [], null, null));

    public void ImportStarted(string path) => Update(() => _files[path] = new FileImportState("importing", _time.GetUtcNow(), [], null, null));

    public void ImportSucceeded(string path, ImportResult? result, IReadOnlyList<string> images)
    {
        var unchanged = result is not null && result.Images.Count > 0 && result.Images.All(i => i.Change == Images.ImageChange.Unchanged);
        Update(() =>
        {
            _files[path] = new FileImportState(unchanged ? "unchanged" : "imported", _time.GetUtcNow(), images, null, null);
            _containerdReachable = true;
        });
    }

    public void ImportFailed(string path, Exception error, ImportOutcomeKind kind, TimeSpan duration) => Update(() =>
    {
        var failure = FailureDescription.Of(error);
        _files[path] = new FileImportState("failed", _time.GetUtcNow(), [], failure.Class, error.Message);
        _containerdReachable = failure.BackendUnreachable ? false : _containerdReachable;
    });

    public void FileRemoved(string path) => Update(() => _files.Remove(path));

    /// <summary>Written at once, not at the next tick: a readiness probe polling right after READY=1 sees it.</summary>
    public void Ready()
    {
        Update(() =>
        {
            _initialPassDone = true;
            _ready = true;
        });
        TryWrite();
    }

    /// <summary>Writes the file whenever it is due, until <paramref name="stop"/>; then removes it.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            while (!stop.IsCancellationRequested)
            {
                TryWrite();
                await Task.Delay(Interval, _time, stop);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        finally
        {
            Remove();
        }
    }

    /// <summary>Writes now if something changed or an import is in flight (its progress moves).</summary>
    public void WriteIfDue()
    {
        // Under the gate: one writer of the temp file at a time, and a small file (a few KiB) is quick to write.
        lock (_gate)
        {
            var inFlight = _view?.InFlight ?? [];
            if (!_dirty && inFlight.Count == 0)
            {
                return;
            }

            var temp = _path + ".tmp-" + Environment.ProcessId;
            File.WriteAllBytes(temp, Serialize(inFlight));
            File.Move(temp, _path, overwrite: true);
            _dirty = false;
        }
    }

    private void TryWrite()
    {
        try
        {
            WriteIfDue();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The runtime directory went away or filled up: status will say so; the daemon goes on.
        }
    }

    public void Remove()
    {
        try
        {
            File.Delete(_path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Nothing to do about it at shutdown; status checks the pid too.
        }
    }

    private void Update(Action change)
    {
        lock (_gate)
        {
            change();
            _dirty = true;
        }
    }

    /// <summary>Called under the gate.</summary>
    private byte[] Serialize(IReadOnlyList<ImportProgress> inFlight)
    {
        var now = _time.GetUtcNow();
        var queue = _view?.Queue() ?? [];
        var progress = inFlight.ToDictionary(p => p.Path, StringComparer.Ordinal);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("pid", Environment.ProcessId);
            w.WriteString("imagesDirectory", _imagesDirectory);
            w.WriteString("startedAt", _started);
            w.WriteString("updatedAt", now);
            w.WriteBoolean("initialPassDone", _initialPassDone);
            w.WriteBoolean("ready", _ready);
            w.WriteStartObject("containerd");
            w.WriteString("address", _containerdAddress);
            if (_containerdReachable is { } reachable)
            {
                w.WriteBoolean("reachable", reachable);
            }
            else
            {
                w.WriteNull("reachable");
            }

            w.WriteEndObject();
            if (_lastFullScan is { } scan)
            {
                w.WriteString("lastFullScan", scan);
            }

            w.WriteNumber("queueDepth", _view?.QueueDepth ?? 0);
            w.WriteStartArray("files");
            var queued = queue.ToDictionary(q => q.Path, StringComparer.Ordinal);
            foreach (var path in _files.Keys.Union(queued.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                _files.TryGetValue(path, out var known);
                queued.TryGetValue(path, out var entry);
                w.WriteStartObject();
                w.WriteString("path", path);
                var state = entry?.State switch
                {
                    QueueEntryState.InFlight => "importing",
                    QueueEntryState.Retrying => "failed",
                    QueueEntryState.Parked => "failed",
                    QueueEntryState.Queued when known?.State != "failed" => "queued",
                    _ => known?.State ?? "queued",
                };
                w.WriteString("state", state);
                if (known is not null)
                {
                    w.WriteString("at", known.At);
                    if (known.Images.Count > 0)
                    {
                        w.WriteStartArray("images");
                        foreach (var image in known.Images)
                        {
                            w.WriteStringValue(image);
                        }

                        w.WriteEndArray();
                    }

                    if (state == "failed" && known.Cause is not null)
                    {
                        w.WriteString("cause", known.Cause);
                        w.WriteString("error", known.Detail);
                    }
                }

                if (state == "failed")
                {
                    if (entry is { State: QueueEntryState.Retrying or QueueEntryState.Queued })
                    {
                        w.WriteString("nextRetry", entry.DueAt);
                    }
                    else
                    {
                        // Parked: a bad file is looked at again only when it changes.
                        w.WriteString("nextRetry", "when the file changes");
                    }
                }

                if (state == "importing" && progress.TryGetValue(path, out var p))
                {
                    w.WriteNumber("readBytes", p.ReadBytes);
                    w.WriteNumber("totalBytes", p.TotalBytes);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
