namespace Imageimportd.Scan;

/// <summary>
/// Lists candidate files under the images directory: recursive, in ordinal (lexical) order of their relative path so
/// users can put <c>00-pause.tar</c> first. Only regular files (or symlinks to them) count; FIFOs, sockets, devices,
/// link loops and dangling links are skipped without ever being opened.
/// Bounded whatever the tree holds: each real directory (device+inode) is walked once, so a directory symlink
/// leading back up (<c>a/up -&gt; ..</c>) is a loop noted once, not 2^32 paths; real directories are walked before
/// links to them; at most <see cref="MaxDepth"/> levels; paths longer than the kernel takes are skipped and noted.
/// Names are read as bytes, so a name that is not UTF-8 is listed too (see <see cref="NativePath"/>).
/// Never throws: what cannot be read is skipped. Each problem is handed to the note callback once per instance
/// (a daemon keeps one instance, so a loop is said once, not every scan).
/// </summary>
public sealed class DirectoryScan(Action<string>? note = null)
{
    /// <summary>Directory levels below the images directory that are scanned (and watched).</summary>
    public const int MaxDepth = 32;

    /// <summary>Longest path the kernel opens (PATH_MAX less the NUL).</summary>
    public const int MaxPathBytes = 4095;

    private readonly HashSet<string> _noted = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>A one-off listing that says nothing about what it skipped.</summary>
    public static IReadOnlyList<string> List(string directory, Func<string, bool> isCandidate) =>
        new DirectoryScan().Find(directory, isCandidate);

    /// <summary>
    /// True when <paramref name="path"/> is a file the scan could list: under <paramref name="root"/>, at most
    /// <see cref="MaxDepth"/> directories down, and short enough to open. inotify events outside these bounds are
    /// dropped, so the watcher never imports what the next scan would call gone.
    /// </summary>
    public static bool WithinLimits(string root, string path)
    {
        var relative = Path.GetRelativePath(root, path);
        return !relative.StartsWith("..", StringComparison.Ordinal)
            && relative.Count(c => c == '/') <= MaxDepth
            && NativePath.ByteCount(path) <= MaxPathBytes;
    }

    public IReadOnlyList<string> Find(string directory, Func<string, bool> isCandidate)
    {
        var found = new List<string>();
        var root = Path.GetFullPath(directory).TrimEnd('/');
        if (root.Length == 0 || SafeFile.Stat(root) is not { IsDirectory: true } rootStatus)
        {
            return found;
        }

        var visited = new HashSet<(ulong, ulong)> { (rootStatus.Device, rootStatus.Inode) };
        var links = new Queue<Pending>();
        Walk(new Pending(root, 0, [(rootStatus.Device, rootStatus.Inode)]), isCandidate, found, visited, links);
        // Links last: a directory reachable both directly and through a link is listed under its real path.
        while (links.TryDequeue(out var link))
        {
            var id = (link.Status.Device, link.Status.Inode);
            if (link.Ancestors.Contains(id))
            {
                Note("loop:" + link.Path, $"directory symlink {link.Path} leads back to a directory above it; not followed");
            }
            else if (visited.Add(id))
            {
                Walk(link with { Ancestors = [.. link.Ancestors, id] }, isCandidate, found, visited, links);
            }
        }

        found.Sort((a, b) => string.CompareOrdinal(a[root.Length..], b[root.Length..]));
        return found;
    }

    private void Walk(Pending directory, Func<string, bool> isCandidate, List<string> found, HashSet<(ulong, ulong)> visited, Queue<Pending> links)
    {
        var names = NativeFile.ReadDirectory(directory.Path, out var errno);
        if (names is null)
        {
            if (errno != NativeFile.ENOENT)
            {
                Note("list:" + directory.Path, $"cannot list {directory.Path}: {SafeFile.ErrnoText(errno)}; skipped");
            }

            return;
        }

        names.Sort((x, y) => string.CompareOrdinal(x.Name, y.Name));
        foreach (var (name, type) in names)
        {
            if (ArchiveNames.IsHidden(name))
            {
                continue;
            }

            var path = directory.Path + "/" + name;
            if (NativePath.ByteCount(path) > MaxPathBytes)
            {
                Note("long:" + directory.Path, $"paths under {directory.Path} are longer than the kernel's limit ({MaxPathBytes} bytes); skipped");
                continue;
            }

            if (type == NativeFile.DtRegular)
            {
                // Not a link, so no stat is needed (a file swapped since is checked again when it is opened).
                if (isCandidate(name))
                {
                    found.Add(path);
                }

                continue;
            }

            if (NativeFile.Stat(path, follow: true, out _) is not { } status)
            {
                continue; // Gone, a dangling link or a link loop: nothing to import.
            }

            if (status.IsRegular)
            {
                if (isCandidate(name))
                {
                    found.Add(path);
                }

                continue;
            }

            if (!status.IsDirectory)
            {
                continue;
            }

            if (directory.Depth + 1 > MaxDepth)
            {
                Note("deep:" + directory.Path, $"directories more than {MaxDepth} levels below the images directory are not scanned: {path}");
                continue;
            }

            var id = (status.Device, status.Inode);
            var child = new Pending(path, directory.Depth + 1, [.. directory.Ancestors, id]) { Status = status };
            if (type != NativeFile.DtDirectory && NativeFile.Stat(path, follow: false, out _) is { IsSymlink: true })
            {
                links.Enqueue(child with { Ancestors = directory.Ancestors });
            }
            else if (visited.Add(id))
            {
                Walk(child, isCandidate, found, visited, links);
            }
        }
    }

    private void Note(string key, string message)
    {
        if (note is null)
        {
            return;
        }

        lock (_gate)
        {
            if (!_noted.Add(key))
            {
                return;
            }
        }

        note(message);
    }

    private sealed record Pending(string Path, int Depth, (ulong, ulong)[] Ancestors)
    {
        public FileStat Status { get; init; }
    }
}
