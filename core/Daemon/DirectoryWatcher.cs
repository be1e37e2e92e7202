namespace Imageimportd.Daemon;

/// <summary>
/// inotify hints for the images directory (through FileSystemWatcher, recursive). Events only say "look at this path";
/// an overflow or an error asks for a full rescan. When the directory does not exist yet, its parent is watched for
/// it to appear.
/// </summary>
internal sealed class DirectoryWatcher : IDisposable
{
    private readonly string _directory;
    private readonly Action<string> _changed;
    private readonly Action<string> _removed;
    private readonly Action _rescan;
    private readonly Lock _gate = new();
    private FileSystemWatcher? _watcher;
    private FileSystemWatcher? _parentWatcher;

    public DirectoryWatcher(string directory, Action<string> changed, Action<string> removed, Action rescan)
    {
        _directory = Path.GetFullPath(directory);
        // The scan's bounds apply to events too, so inotify never brings in a file the next scan calls gone.
        _changed = path =>
        {
            if (path.Contains('\uFFFD', StringComparison.Ordinal))
            {
                rescan(); // A name that is not UTF-8 reaches us mangled; the scan reads it as bytes.
            }
            else if (Scan.DirectoryScan.WithinLimits(_directory, path))
            {
                changed(path);
            }
        };
        _removed = removed;
        _rescan = rescan;
    }

    /// <summary>True while the directory itself is watched (not just its parent).</summary>
    public bool Active
    {
        get
        {
            lock (_gate)
            {
                return _watcher is not null;
            }
        }
    }

    /// <summary>(Re)arms the watch: on the directory if it exists, else on its parent. Safe to call on every scan.</summary>
    public void Arm()
    {
        lock (_gate)
        {
            if (_watcher is not null && Directory.Exists(_directory))
            {
                return;
            }

            DisposeWatchers();
            try
            {
                if (Directory.Exists(_directory))
                {
                    var w = new FileSystemWatcher(_directory)
                    {
                        IncludeSubdirectories = true,
                        NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
                        InternalBufferSize = 64 * 1024,
                    };
                    w.Created += (_, e) => _changed(e.FullPath);
                    w.Changed += (_, e) => _changed(e.FullPath);
                    w.Deleted += (_, e) => _removed(e.FullPath);
                    w.Renamed += (_, e) =>
                    {
                        _removed(e.OldFullPath);
                        _changed(e.FullPath);
                    };
                    w.Error += (_, _) => _rescan();
                    w.EnableRaisingEvents = true;
                    _watcher = w;
                }
                else if (Path.GetDirectoryName(_directory) is { } parent && Directory.Exists(parent))
                {
                    var p = new FileSystemWatcher(parent, Path.GetFileName(_directory)) { NotifyFilter = NotifyFilters.DirectoryName };
                    p.Created += (_, _) => _rescan();
                    p.Renamed += (_, _) => _rescan();
                    p.Error += (_, _) => _rescan();
                    p.EnableRaisingEvents = true;
                    _parentWatcher = p;
                }
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException)
            {
                // The directory vanished between the check and the watch; the next scan re-arms.
                DisposeWatchers();
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            DisposeWatchers();
        }
    }

    private void DisposeWatchers()
    {
        _watcher?.Dispose();
        _watcher = null;
        _parentWatcher?.Dispose();
        _parentWatcher = null;
    }
}
