using Imageimportd.Cache;
using Imageimportd.Observe;
using Imageimportd.Queue;
using Imageimportd.Scan;
using Serilog;

namespace Imageimportd.Daemon;

/// <summary>
/// One full look at the images directory, the source of truth (inotify events are only hints). Contract:
/// <list type="bullet">
/// <item>Every archive and pull list found that the cache does not hold as imported in its current state (new,
/// changed, from k3s, or marked for re-import) is handed to the queue, which settles and dedupes.</item>
/// <item>On the initial pass the unchanged files are checked against containerd (<see cref="ImagePinKeeper.RepinAsync"/>):
/// those it cannot vouch for are queued, the others reported unchanged to the observer. Later passes trust the cache.</item>
/// <item>Cached files under the directory that the pass did not find are gone: their images are unpinned and their
/// entries forgotten (<see cref="ImagePinKeeper.UnpinGoneAsync"/>); then the pending unpins are retried.</item>
/// <item>The directory and each file writable by group or others are warned about once per path for the life of
/// the instance.</item>
/// </list>
/// One pass at a time (the scan loop calls it); a file that vanishes mid-pass is simply not seen.
/// </summary>
public sealed class ScanPass
{
    private readonly string _directory;
    private readonly DirectoryScan _scan;
    private readonly IFileProbe _probe;
    private readonly ImportCache _cache;
    private readonly ImagePinKeeper _keeper;
    private readonly ImportQueue _queue;
    private readonly IDaemonObserver _observer;
    private readonly ILogger _log;
    private readonly HashSet<string> _warnedWritable = new(StringComparer.Ordinal);

    /// <param name="directory">The images directory, an absolute path.</param>
    /// <param name="cache">Read only here: what was imported; its writes belong to <paramref name="keeper"/>.</param>
    public ScanPass(string directory, DirectoryScan scan, IFileProbe probe, ImportCache cache, ImagePinKeeper keeper, ImportQueue queue, IDaemonObserver observer, ILogger log)
    {
        _directory = directory;
        _scan = scan;
        _probe = probe;
        _cache = cache;
        _keeper = keeper;
        _queue = queue;
        _observer = observer;
        _log = log;
    }

    public async Task<ScanSummary> RunAsync(bool initial, CancellationToken cancellationToken)
    {
        var files = _scan.Find(_directory, n => ArchiveNames.IsArchive(n) || ArchiveNames.IsPullList(n));
        var present = new HashSet<string>(files, StringComparer.Ordinal);
        WarnIfWritableByOthers(_directory);
        var queued = new List<string>();
        var unchanged = new List<(string File, IReadOnlyList<string> Images)>();
        foreach (var file in files)
        {
            WarnIfWritableByOthers(file);
            if (_probe.Probe(file) is not { } stamp)
            {
                continue;
            }

            if (_cache.TryGetCurrent(file, stamp, out var entry))
            {
                unchanged.Add((file, entry.Images));
                continue;
            }

            if (initial && _cache.TryGet(file, out var inherited) && inherited.FromK3s && inherited.Matches(stamp))
            {
                _log.Information("{File:l}: its cache entry comes from k3s and names no images; importing it once to learn them (content containerd has is not sent again)", file);
            }

            _queue.Notify(file);
            queued.Add(file);
        }

        var reimport = initial ? await _keeper.RepinAsync(unchanged, cancellationToken) : new HashSet<string>();
        foreach (var (file, _) in unchanged)
        {
            if (reimport.Contains(file))
            {
                _queue.Notify(file);
                queued.Add(file);
            }
            else if (initial)
            {
                _observer.FileUnchanged(file);
            }
        }

        var gone = _cache.Paths.Where(p => !present.Contains(p) && IsUnder(p)).ToList();
        if (gone.Count > 0)
        {
            await _keeper.UnpinGoneAsync(gone, present, cancellationToken);
        }

        await _keeper.RetryUnpinsAsync(cancellationToken);
        _observer.ScanCompleted(initial);
        return new ScanSummary(
            [.. queued.Order(StringComparer.Ordinal)],
            [.. unchanged.Select(u => u.File).Where(f => !reimport.Contains(f))],
            gone);
    }

    private bool IsUnder(string path) =>
        path.StartsWith(_directory.TrimEnd('/') + "/", StringComparison.Ordinal);

    private void WarnIfWritableByOthers(string path)
    {
        try
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0 && _warnedWritable.Add(path))
            {
                _log.Warning("{Path:l} is writable by group or others: whoever can write there can put images on this node", path);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Gone or unreadable: the scan deals with it.
        }
    }
}
