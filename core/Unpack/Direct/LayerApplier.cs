using Imageimportd.Archive;
using Imageimportd.Content;
using Imageimportd.Native;

namespace Imageimportd.Unpack.Direct;

/// <summary>
/// Writes one uncompressed layer (a tar stream) into a directory the way containerd's applier does (archive.Apply):
/// every file type, owner, mode with setuid/setgid/sticky, nanosecond times (directories last, after their contents),
/// PAX <c>SCHILY.xattr.*</c>, and OCI whiteouts in the target's <see cref="WhiteoutStyle"/>. Every name is resolved
/// inside the root (<see cref="RootedPath"/>), so no entry writes, links or changes anything outside it; an entry
/// containerd refuses (a whiteout naming its parent, a hard link to nothing inside the root, an unknown type) throws
/// <see cref="InvalidDataException"/> and leaves the directory half-written for the caller to remove.
/// Needs root (lchown, mknod); the caller checks.
/// </summary>
public sealed class LayerApplier
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";

    // One pwrite per piece of the reader's buffer: as large as the buffer, so a big file costs few system calls.
    private const int WriteChunk = 1 << 20;

    // Go's time.Unix(0, 1<<63-1): containerd clamps times outside [epoch, this] to the epoch.
    private static readonly long MaxSeconds = long.MaxValue / 1_000_000_000;

    private readonly LayerTarget _target;
    private readonly string _root;
    // What this layer wrote, for an opaque marker without overlay (which must keep it and remove the rest); overlay keeps
    // nothing here (its marker is an xattr), so a layer of many files holds no set of their paths.
    private readonly HashSet<string> _unpacked = new(StringComparer.Ordinal);
    private readonly List<(string Name, string Path, int Removals, Times Times)> _dirs = [];

    // Parent names already resolved, each component an existing directory. Only a removal can change where such a name
    // leads: a new link or file is made at a name that did not exist (Create removes what is in the way first), and a
    // name that did not exist is no component of a cached path. So Remove clears it, nothing else does. Spares a
    // readlink per component per entry (a layer of libraries plants a symlink every few entries).
    private readonly Dictionary<string, string> _parents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _parentsByName;

    // Removals so far: a directory's path resolved when it was made is still what its name resolves to at the end of
    // the layer when no removal happened in between.
    private int _removals;

    public LayerApplier(LayerTarget target)
    {
        _target = target;
        _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target.Root));
        _parentsByName = _parents.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>Applies the tar stream to its end-of-archive marker; the caller drains and hashes what follows.</summary>
    public async Task ApplyAsync(Stream tar, CancellationToken cancellationToken)
    {
        // Pooled: a fresh megabyte per layer was a large-object allocation each, and what made gen2 collections run.
        var buffer = ChunkPool.Shared.Rent(WriteChunk);
        try
        {
            await ApplyEntriesAsync(new LayerTarReader(tar, buffer), cancellationToken);
        }
        finally
        {
            ChunkPool.Shared.Return(buffer);
        }

        foreach (var (name, path, removals, times) in _dirs)
        {
            // containerd resolves each directory's name again here; the same answer, unless something was removed since.
            SetTimes(removals == _removals ? path : RootedPath.Resolve(_root, name), times);
        }
    }

    private async Task ApplyEntriesAsync(LayerTarReader reader, CancellationToken cancellationToken)
    {
        var entries = 0;
        while (true)
        {
            LayerTarEntry? entry;
            try
            {
                entry = await reader.NextAsync(cancellationToken);
            }
            catch (InvalidDataException ex)
            {
                throw new InvalidDataException($"corrupt layer tar after {entries} entries: {ex.Message}", ex);
            }

            if (entry is null)
            {
                break;
            }

            entries++;
            try
            {
                await ApplyEntryAsync(entry, reader, cancellationToken);
            }
            catch (IOException ex) when (RefusedByTheEntry(ex))
            {
                throw new InvalidDataException($"layer entry {entry.Name} refused: {ex.Message}", ex);
            }
        }
    }

    /// <summary>
    /// A system call failing because of what the entry asks (a link to nothing, a whiteout over a file it wrote, a path
    /// through a non-directory) is the layer's fault, as containerd reports it; a full or failing disk is not.
    /// </summary>
    private static bool RefusedByTheEntry(IOException ex) =>
        ex.HResult is Libc.EPERM or Libc.ENOENT or Libc.EEXIST or Libc.EXDEV or Libc.ENOTDIR or Libc.EISDIR or Libc.EINVAL or Libc.EMLINK or Libc.ELOOP;

    private async Task ApplyEntryAsync(LayerTarEntry entry, LayerTarReader reader, CancellationToken cancellationToken)
    {
        if (entry.Type == LayerTarEntry.GlobalHeader)
        {
            return;
        }

        var name = GoPath.Clean(entry.Name);
        var (parent, baseName) = ResolveParent(name);
        if (baseName.Length == 0)
        {
            return; // containerd ignores an entry that resolves to the root
        }

        var path = parent + "/" + baseName;
        if (baseName == OpaqueMarker)
        {
            Opaque(parent);
            return;
        }

        if (baseName.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            var hidden = baseName[WhiteoutPrefix.Length..];
            if (hidden is "" or "." or ".." || hidden.Contains('/'))
            {
                throw new InvalidDataException($"layer entry {entry.Name}: invalid whiteout name {baseName}");
            }

            Whiteout(parent + "/" + hidden, entry);
            return;
        }

        var mode = (uint)entry.Mode & 0xFFF;
        var times = TimesOf(entry);
        if (entry.IsRegular)
        {
            await WriteFileAsync(path, mode, times, entry, reader, cancellationToken);
            Unpacked(path);
            return;
        }

        switch (entry.Type)
        {
            case LayerTarEntry.Directory:
                var errno = PosixFs.TryMkdir(path, 0x1C0);
                if (errno == Libc.EEXIST && PosixFs.Lstat(path) is { } existing && !existing.IsDirectory)
                {
                    Remove(path, existing);
                    errno = PosixFs.TryMkdir(path, 0x1C0);
                }

                PosixFs.Check(errno is Libc.EEXIST ? 0 : errno, "mkdir", path);
                break;
            case LayerTarEntry.CharDevice or LayerTarEntry.BlockDevice or LayerTarEntry.Fifo:
                var kind = entry.Type switch
                {
                    LayerTarEntry.CharDevice => PosixFs.TypeChar,
                    LayerTarEntry.BlockDevice => PosixFs.TypeBlock,
                    _ => PosixFs.TypeFifo,
                };
                var device = PosixFs.MakeDevice((uint)entry.DevMajor, (uint)entry.DevMinor);
                var node = (Mode: mode | kind, Device: device);
                Create(path, "mknod", ref node, static (string p, ref (uint Mode, ulong Device) n) => PosixFs.TryMknod(p, n.Mode, n.Device));
                break;
            case LayerTarEntry.HardLink:
                var linkTarget = HardlinkTarget(entry.LinkName);
                Create(path, "link", ref linkTarget, static (string p, ref string target) => PosixFs.TryLink(target, p));
                break;
            case LayerTarEntry.Symlink:
                var symlinkTarget = entry.LinkName;
                Create(path, "symlink", ref symlinkTarget, static (string p, ref string target) => PosixFs.TrySymlink(target, p));
                break;
            case LayerTarEntry.OldGnuSparse:
                // Go's archive/tar expands PAX sparse files into regular ones but leaves old GNU sparse headers typed
                // 'S', and containerd's applier fails on them ("unhandled tar header type 83"). A snapshot containerd
                // cannot make is not made here either: the same image must unpack the same way on every path.
                throw new InvalidDataException(
                    $"layer entry {entry.Name}: old GNU sparse entry (type 'S'), which containerd's applier refuses as well (unhandled tar header type 83); write the layer with PAX sparse headers (tar --format=posix)");
            default:
                throw new InvalidDataException($"layer entry {entry.Name}: unhandled tar entry type {(char)entry.Type}");
        }

        PosixFs.Lchown(path, entry.Uid, entry.Gid);
        var isDirectory = entry.Type == LayerTarEntry.Directory;
        foreach (var (xattr, value) in entry.Xattrs)
        {
            SetXattr(path, xattr, value, isDirectory);
        }

        // chmod after lchown: lchown clears setuid/setgid.
        if (entry.Type != LayerTarEntry.Symlink && !(entry.Type == LayerTarEntry.HardLink && PosixFs.Lstat(path) is { IsSymlink: true }))
        {
            PosixFs.Chmod(path, mode);
        }

        if (isDirectory)
        {
            // Its times are set once, after the layer: what is created in it until then would change its mtime anyway.
            _dirs.Add((name, path, _removals, times));
        }
        else
        {
            SetTimes(path, times);
        }

        Unpacked(path);
    }

    private void Unpacked(string path)
    {
        if (_target.Whiteouts != WhiteoutStyle.Overlay)
        {
            _unpacked.Add(path);
        }
    }

    /// <summary>
    /// Runs <paramref name="create"/> (returns an errno; what it makes, such as a descriptor, goes into
    /// <paramref name="state"/>); where something is in the way, removes it first as containerd does (RemoveAll, then
    /// create). Trying first spares an lstat for every entry of a fresh directory. Static creators with their state passed
    /// by reference: no closure per entry, which was most of what a layer of small files allocated.
    /// </summary>
    private void Create<TState>(string path, string call, ref TState state, CreateCall<TState> create)
    {
        var errno = create(path, ref state);
        if (errno == Libc.EEXIST && PosixFs.Lstat(path) is { } existing)
        {
            Remove(path, existing);
            errno = create(path, ref state);
        }

        PosixFs.Check(errno, call, path);
    }

    /// <summary>
    /// A regular file through one descriptor: created (replacing what is there), data written at its offsets (a sparse
    /// file's holes left as holes, its length set by ftruncate), then owner, xattrs, mode and times set on the open
    /// descriptor in containerd's order (chown clears setuid and capabilities, so xattrs and mode come after it).
    /// </summary>
    private async Task WriteFileAsync(string path, uint mode, Times times, LayerTarEntry entry, LayerTarReader reader, CancellationToken cancellationToken)
    {
        // Created with its mode where the umask leaves it whole and there is no setuid/setgid/sticky bit (which lchown
        // would clear): one fchmod less per file, as containerd's applier creates files with the entry's mode.
        var createMode = (mode & 0xE00) == 0 && (mode & PosixFs.Umask) == 0 ? mode : 0x180;
        var file = (Mode: createMode, Fd: -1);
        Create(path, "open", ref file, static (string p, ref (uint Mode, int Fd) f) => PosixFs.TryCreateFile(p, f.Mode, out f.Fd));
        var fd = file.Fd;
        try
        {
            if (entry.Sparse is { } regions)
            {
                foreach (var (offset, length) in regions)
                {
                    await WriteDataAsync(fd, path, offset, length, reader, cancellationToken);
                }

                PosixFs.Truncate(fd, entry.Size, path);
            }
            else
            {
                await WriteDataAsync(fd, path, 0, reader.Remaining, reader, cancellationToken);
            }

            PosixFs.Fchown(fd, entry.Uid, entry.Gid, path);
            foreach (var (xattr, value) in entry.Xattrs)
            {
                SetXattr(path, xattr, value, isFileOrDir: true, fd);
            }

            if (createMode != mode)
            {
                PosixFs.Fchmod(fd, mode, path);
            }

            PosixFs.Futimens(fd, times.AtimeSec, times.AtimeNsec, times.MtimeSec, times.MtimeNsec, path);
        }
        finally
        {
            PosixFs.Close(fd);
        }
    }

    private static async Task WriteDataAsync(int fd, string path, long offset, long length, LayerTarReader reader, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            var piece = await reader.ReadAsync((int)Math.Min(length, WriteChunk), cancellationToken);
            PosixFs.WriteAt(fd, piece.Span, offset, path);
            offset += piece.Length;
            length -= piece.Length;
        }
    }

    /// <summary>
    /// The cleaned name's parent (resolved inside the root, created if missing) and its last component (not followed).
    /// </summary>
    private (string Parent, string Base) ResolveParent(string name)
    {
        var clean = GoPath.Clean("/" + name);
        var slash = clean.LastIndexOf('/');
        var baseName = clean[(slash + 1)..];
        if (slash == 0)
        {
            return (_root, baseName);
        }

        // Looked up by span: the parent's name is only cut out of the entry's name when it is new.
        if (!_parentsByName.TryGetValue(clean.AsSpan(0, slash), out var parent))
        {
            var parentName = clean[..slash];
            parent = ResolveDirectory(parentName);
            if (parent != _root)
            {
                MakeParent(parent);
            }

            _parents[parentName] = parent;
        }

        return (parent, baseName);
    }

    /// <summary>
    /// A directory's name resolved in the root. When its own parent is cached (resolved, every component an existing
    /// directory) only the last component is left to look at: one readlink instead of one per component, and no lists.
    /// </summary>
    private string ResolveDirectory(string name)
    {
        var slash = name.LastIndexOf('/');
        string? up = slash == 0 ? _root : slash > 0 && _parentsByName.TryGetValue(name.AsSpan(0, slash), out var cached) ? cached : null;
        if (up is not null)
        {
            var candidate = up + name[slash..];
            if (PosixFs.ReadLink(candidate) is null)
            {
                return candidate;
            }
        }

        return RootedPath.Resolve(_root, name);
    }

    /// <summary>The link target: its directory resolved in the root, its last component not followed (link(2) does not).</summary>
    private string HardlinkTarget(string linkName)
    {
        var (parent, baseName) = RootedPath.ResolveParent(_root, GoPath.Clean(linkName));
        return baseName.Length == 0 ? _root : parent + "/" + baseName;
    }

    private void Whiteout(string hidden, LayerTarEntry entry)
    {
        if (_target.Whiteouts == WhiteoutStyle.Overlay)
        {
            PosixFs.Mknod(hidden, PosixFs.TypeChar, 0);
            PosixFs.Lchown(hidden, entry.Uid, entry.Gid);
            return;
        }

        if (PosixFs.Lstat(hidden) is { } st)
        {
            Remove(hidden, st);
        }
    }

    private void Opaque(string dir)
    {
        if (_target.Whiteouts == WhiteoutStyle.Overlay)
        {
            PosixFs.SetXattr(dir, "trusted.overlay.opaque", "y"u8);
            return;
        }

        if (PosixFs.Lstat(dir) is null)
        {
            throw new InvalidDataException($"opaque marker in {dir}, which does not exist");
        }

        EmptyOfLower(dir);
    }

    /// <summary>Removes everything under <paramref name="dir"/> that this layer did not write.</summary>
    private void EmptyOfLower(string dir)
    {
        foreach (var child in Directory.EnumerateFileSystemEntries(dir))
        {
            var st = PosixFs.Lstat(child);
            if (st is null)
            {
                continue;
            }

            if (!_unpacked.Contains(child))
            {
                Remove(child, st.Value);
            }
            else if (st.Value.IsDirectory)
            {
                EmptyOfLower(child);
            }
        }
    }

    private void Remove(string path, LstatResult st)
    {
        _parents.Clear();
        _removals++;
        if (st.IsDirectory)
        {
            // Recursive delete unlinks symlinks inside, never follows them.
            Directory.Delete(path, recursive: true);
        }
        else
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Creates a missing parent directory (and its missing parents) 0755, taking owner, mode, times and xattrs from the
    /// same directory in the highest lower layer that has it, as containerd does so an upper dir does not mask them.
    /// </summary>
    private void MakeParent(string path)
    {
        if (PosixFs.Lstat(path) is { } st)
        {
            if (!st.IsDirectory)
            {
                throw new InvalidDataException($"{path[_root.Length..]} is not a directory");
            }

            return;
        }

        var slash = path.LastIndexOf('/');
        if (slash > _root.Length)
        {
            MakeParent(path[..slash]);
        }

        Directory.CreateDirectory(path);
        PosixFs.Chmod(path, 0x1ED); // 0755
        foreach (var lower in _target.Lowers)
        {
            var same = RootedPath.Resolve(lower, path[_root.Length..]);
            if (PosixFs.Lstat(same) is not { } found)
            {
                continue;
            }

            if (!found.IsDirectory)
            {
                break;
            }

            PosixFs.Lchown(path, found.Uid, found.Gid);
            PosixFs.Chmod(path, found.Mode & 0xFFF);
            PosixFs.SetTimes(path, found.AtimeSec, found.AtimeNsec, found.MtimeSec, found.MtimeNsec);
            foreach (var xattr in PosixFs.ListXattrs(same))
            {
                if (!xattr.StartsWith("trusted.", StringComparison.Ordinal) && PosixFs.GetXattr(same, xattr) is { } value)
                {
                    PosixFs.TrySetXattr(path, xattr, value, isFileOrDir: true);
                }
            }

            return;
        }
    }

    /// <summary>
    /// One <c>SCHILY.xattr.*</c> record, its value the exact bytes of the PAX record (binary for security.capability).
    /// trusted.* is skipped: containerd will not set admin attributes from an archive and goes on.
    /// </summary>
    private static void SetXattr(string path, string xattr, byte[] value, bool isFileOrDir, int fd = -1)
    {
        if (!xattr.StartsWith("trusted.", StringComparison.Ordinal))
        {
            PosixFs.TrySetXattr(path, xattr, value, isFileOrDir, fd);
        }
    }

    private static void SetTimes(string path, Times t) => PosixFs.SetTimes(path, t.AtimeSec, t.AtimeNsec, t.MtimeSec, t.MtimeNsec);

    /// <summary>containerd's times: mtime as the header says, atime the later of atime and mtime, both clamped.</summary>
    private static Times TimesOf(LayerTarEntry entry)
    {
        var mtime = entry.Mtime;
        var latest = entry.Atime is { } at && (at.Sec > mtime.Sec || (at.Sec == mtime.Sec && at.Nsec > mtime.Nsec)) ? at : mtime;
        var (ms, mn) = Bound(mtime);
        var (@as, an) = Bound(latest);
        return new Times(@as, an, ms, mn);
    }

    private static (long, long) Bound((long Sec, long Nsec) t) =>
        t.Sec < 0 || t.Sec > MaxSeconds || (t.Sec == MaxSeconds && t.Nsec > long.MaxValue % 1_000_000_000) ? (0, 0) : t;

    private readonly record struct Times(long AtimeSec, long AtimeNsec, long MtimeSec, long MtimeNsec);

    /// <summary>One creating system call on <paramref name="path"/>: returns its errno (0 on success).</summary>
    private delegate int CreateCall<TState>(string path, ref TState state);
}
