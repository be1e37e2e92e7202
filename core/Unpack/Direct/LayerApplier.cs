using System.Formats.Tar;
using System.Globalization;
using System.Text;
using Imageimportd.Archive;

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
public sealed class LayerApplier(LayerTarget target)
{
    private const string WhiteoutPrefix = ".wh.";
    private const string OpaqueMarker = ".wh..wh..opq";
    private const string XattrPrefix = "SCHILY.xattr.";

    // Go's time.Unix(0, 1<<63-1): containerd clamps times outside [epoch, this] to the epoch.
    private static readonly long MaxSeconds = long.MaxValue / 1_000_000_000;

    private readonly string _root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target.Root));
    private readonly HashSet<string> _unpacked = new(StringComparer.Ordinal);
    private readonly List<(string Name, Times Times)> _dirs = [];

    /// <summary>Applies the tar stream to its end-of-archive marker; the caller drains and hashes what follows.</summary>
    public async Task ApplyAsync(Stream tar, CancellationToken cancellationToken)
    {
        using var reader = new TarReader(tar, leaveOpen: true);
        var buffer = new byte[1 << 20];
        var entries = 0;
        while (true)
        {
            TarEntry? entry;
            try
            {
                entry = await reader.GetNextEntryAsync(copyData: false, cancellationToken);
            }
            catch (Exception ex) when (ex is FormatException or EndOfStreamException or ArgumentException)
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
                await ApplyEntryAsync(entry, buffer, cancellationToken);
            }
            catch (IOException ex) when (RefusedByTheEntry(ex))
            {
                throw new InvalidDataException($"layer entry {entry.Name} refused: {ex.Message}", ex);
            }
        }

        foreach (var (name, times) in _dirs)
        {
            SetTimes(RootedPath.Resolve(_root, name), times);
        }
    }

    /// <summary>
    /// A system call failing because of what the entry asks (a link to nothing, a whiteout over a file it wrote, a path
    /// through a non-directory) is the layer's fault, as containerd reports it; a full or failing disk is not.
    /// </summary>
    private static bool RefusedByTheEntry(IOException ex) =>
        ex.HResult is 1 or 2 or 17 or 18 or 20 or 21 or 22 or 31 or 40; // EPERM ENOENT EEXIST EXDEV ENOTDIR EISDIR EINVAL EMLINK ELOOP

    private async Task ApplyEntryAsync(TarEntry entry, byte[] buffer, CancellationToken cancellationToken)
    {
        if (entry.EntryType == TarEntryType.GlobalExtendedAttributes)
        {
            return;
        }

        var type = entry.EntryType;
        if (type == TarEntryType.V7RegularFile && entry.Name.EndsWith('/'))
        {
            type = TarEntryType.Directory;
        }

        var attributes = (entry as PaxTarEntry)?.ExtendedAttributes;
        if (type == TarEntryType.SparseFile || attributes?.Keys.Any(k => k.StartsWith("GNU.sparse.", StringComparison.Ordinal)) == true)
        {
            throw new InvalidDataException($"layer entry {entry.Name}: GNU sparse tar entries are not supported by direct apply (use --unpack-via diff)");
        }

        var name = GoPath.Clean(entry.Name);
        var (parent, baseName) = RootedPath.ResolveParent(_root, name);
        if (baseName.Length == 0)
        {
            return; // containerd ignores an entry that resolves to the root
        }

        var path = parent + "/" + baseName;
        if (parent != _root)
        {
            MakeParent(parent);
        }

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

        var existing = PosixFs.Lstat(path);
        if (existing is { } e && !(e.IsDirectory && type == TarEntryType.Directory))
        {
            Remove(path, e);
        }

        var mode = (uint)entry.Mode & 0xFFF;
        switch (type)
        {
            case TarEntryType.Directory:
                if (existing is not { IsDirectory: true })
                {
                    Directory.CreateDirectory(path);
                    PosixFs.Chmod(path, mode);
                }

                break;
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile:
                await WriteFileAsync(path, mode, entry, buffer, cancellationToken);
                break;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                var kind = type switch
                {
                    TarEntryType.CharacterDevice => PosixFs.TypeChar,
                    TarEntryType.BlockDevice => PosixFs.TypeBlock,
                    _ => PosixFs.TypeFifo,
                };
                var posix = (PosixTarEntry)entry;
                PosixFs.Mknod(path, mode | kind, PosixFs.MakeDevice((uint)posix.DeviceMajor, (uint)posix.DeviceMinor));
                break;
            case TarEntryType.HardLink:
                PosixFs.Link(HardlinkTarget(entry.LinkName), path);
                break;
            case TarEntryType.SymbolicLink:
                PosixFs.Symlink(entry.LinkName, path);
                break;
            default:
                throw new InvalidDataException($"layer entry {entry.Name}: unhandled tar entry type {(char)entry.EntryType}");
        }

        PosixFs.Lchown(path, entry.Uid, entry.Gid);
        if (attributes is not null)
        {
            SetXattrs(path, entry.Name, attributes, type is TarEntryType.Directory or TarEntryType.RegularFile or TarEntryType.V7RegularFile);
        }

        // chmod after lchown: lchown clears setuid/setgid.
        if (type != TarEntryType.SymbolicLink && !(type == TarEntryType.HardLink && PosixFs.Lstat(path) is { IsSymlink: true }))
        {
            PosixFs.Chmod(path, mode);
        }

        var times = TimesOf(entry);
        SetTimes(path, times);
        if (type == TarEntryType.Directory)
        {
            _dirs.Add((name, times));
        }

        _unpacked.Add(path);
    }

    private static async Task WriteFileAsync(string path, uint mode, TarEntry entry, byte[] buffer, CancellationToken cancellationToken)
    {
        using (var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            if (entry.DataStream is { } data)
            {
                long offset = 0;
                int n;
                while ((n = await data.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    await RandomAccess.WriteAsync(handle, buffer.AsMemory(0, n), offset, cancellationToken);
                    offset += n;
                }

                if (offset != entry.Length)
                {
                    throw new InvalidDataException($"layer entry {entry.Name}: truncated after {offset} of {entry.Length} bytes");
                }
            }
        }

        PosixFs.Chmod(path, mode);
    }

    /// <summary>The link target: its directory resolved in the root, its last component not followed (link(2) does not).</summary>
    private string HardlinkTarget(string linkName)
    {
        var (parent, baseName) = RootedPath.ResolveParent(_root, GoPath.Clean(linkName));
        return baseName.Length == 0 ? _root : parent + "/" + baseName;
    }

    private void Whiteout(string hidden, TarEntry entry)
    {
        if (target.Whiteouts == WhiteoutStyle.Overlay)
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
        if (target.Whiteouts == WhiteoutStyle.Overlay)
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

    private static void Remove(string path, FileStat st)
    {
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
        foreach (var lower in target.Lowers)
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

    private static void SetXattrs(string path, string entryName, IReadOnlyDictionary<string, string> attributes, bool isFileOrDir)
    {
        foreach (var (key, value) in attributes)
        {
            if (!key.StartsWith(XattrPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var xattr = key[XattrPrefix.Length..];
            if (xattr.StartsWith("trusted.", StringComparison.Ordinal))
            {
                continue; // containerd refuses to set admin attributes from an archive and goes on
            }

            if (value.Contains('\uFFFD'))
            {
                // The tar reader decodes PAX values as UTF-8; a binary value (security.capability) would be corrupted.
                throw new InvalidDataException($"layer entry {entryName}: xattr {xattr} has a binary value, which direct apply cannot carry yet (use --unpack-via diff)");
            }

            PosixFs.TrySetXattr(path, xattr, Encoding.UTF8.GetBytes(value), isFileOrDir);
        }
    }

    private static void SetTimes(string path, Times t) => PosixFs.SetTimes(path, t.AtimeSec, t.AtimeNsec, t.MtimeSec, t.MtimeNsec);

    /// <summary>containerd's times: mtime as the header says, atime the later of atime and mtime, both clamped.</summary>
    private static Times TimesOf(TarEntry entry)
    {
        var attributes = (entry as PaxTarEntry)?.ExtendedAttributes;
        var mtime = attributes is not null && attributes.TryGetValue("mtime", out var m) && ParsePaxTime(m) is { } pm
            ? pm
            : FromOffset(entry.ModificationTime);
        (long, long)? atime = attributes is not null && attributes.TryGetValue("atime", out var a) ? ParsePaxTime(a) : null;
        if (atime is null && entry is GnuTarEntry gnu && gnu.AccessTime != default)
        {
            atime = FromOffset(gnu.AccessTime);
        }

        var latest = atime is { } at && (at.Item1 > mtime.Item1 || (at.Item1 == mtime.Item1 && at.Item2 > mtime.Item2)) ? at : mtime;
        var (ms, mn) = Bound(mtime);
        var (@as, an) = Bound(latest);
        return new Times(@as, an, ms, mn);
    }

    private static (long, long) Bound((long Sec, long Nsec) t) =>
        t.Sec < 0 || t.Sec > MaxSeconds || (t.Sec == MaxSeconds && t.Nsec > long.MaxValue % 1_000_000_000) ? (0, 0) : t;

    private static (long, long) FromOffset(DateTimeOffset time)
    {
        var ticks = time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var sec = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rem);
        if (rem < 0)
        {
            sec--;
            rem += TimeSpan.TicksPerSecond;
        }

        return (sec, rem * 100);
    }

    /// <summary>A PAX time, "seconds[.fraction]", to the nanosecond (the tar reader's DateTimeOffset keeps 100 ns).</summary>
    private static (long, long)? ParsePaxTime(string text)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? "" : text[(dot + 1)..];
        if (!long.TryParse(whole, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var sec) || !fraction.All(char.IsAsciiDigit))
        {
            return null;
        }

        var nsec = fraction.Length == 0 ? 0 : long.Parse(fraction.PadRight(9, '0')[..9], CultureInfo.InvariantCulture);
        if (whole.StartsWith('-') && nsec != 0)
        {
            sec--;
            nsec = 1_000_000_000 - nsec;
        }

        return (sec, nsec);
    }

    private readonly record struct Times(long AtimeSec, long AtimeNsec, long MtimeSec, long MtimeNsec);
}
