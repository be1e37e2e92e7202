using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Imageimportd.Unpack.Direct;

namespace Imageimportd.Tests.Harness;

/// <summary>
/// A directory tree as comparable text, one line per path: type, mode bits (setuid/setgid/sticky too), owner,
/// mtime to the nanosecond, size and sha256 of files, link targets, device numbers, every xattr (the overlay opaque
/// marker too), and which paths share an inode (hard links). Two trees are the same unpack when their lines are.
/// </summary>
public static class SnapshotTree
{
    /// <summary>
    /// Lines by relative path. <paramref name="ignoreMtime"/> says which paths' mtimes are not the layer's but the
    /// moment something was written (the root, overlay whiteout devices).
    /// </summary>
    public static SortedDictionary<string, string> Describe(string root, Func<string, FileStatView, bool>? ignoreMtime = null)
    {
        var lines = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var byInode = new Dictionary<ulong, List<string>>();
        var all = new List<string> { root };
        all.AddRange(Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false }));
        var stats = new Dictionary<string, FileStatView>(StringComparer.Ordinal);
        foreach (var path in all)
        {
            var st = PosixFs.Lstat(path) ?? throw new IOException($"{path} vanished");
            var rel = path == root ? "." : Path.GetRelativePath(root, path);
            var view = new FileStatView(st.Mode, st.Uid, st.Gid, st.MtimeSec, st.MtimeNsec, st.Device, st.Size);
            stats[rel] = view;
            if (!st.IsDirectory)
            {
                (byInode.TryGetValue(st.Inode, out var list) ? list : byInode[st.Inode] = []).Add(rel);
            }
        }

        var linkGroup = byInode.Values.Where(l => l.Count > 1).SelectMany(l => l.Select(p => (p, l.Min(StringComparer.Ordinal)!))).ToDictionary(x => x.p, x => x.Item2, StringComparer.Ordinal);
        foreach (var (rel, st) in stats)
        {
            var path = rel == "." ? root : Path.Combine(root, rel);
            var type = (st.Mode & PosixFs.TypeMask) switch
            {
                PosixFs.TypeDir => "dir",
                PosixFs.TypeRegular => "file",
                PosixFs.TypeSymlink => "symlink",
                PosixFs.TypeChar => "char",
                PosixFs.TypeBlock => "block",
                PosixFs.TypeFifo => "fifo",
                var t => $"type{t:x}",
            };
            var sb = new StringBuilder();
            sb.Append(CultureInfo.InvariantCulture, $"{type} mode={Convert.ToString(st.Mode & 0xFFF, 8)} owner={st.Uid}:{st.Gid}");
            if (ignoreMtime?.Invoke(rel, st) != true)
            {
                sb.Append(CultureInfo.InvariantCulture, $" mtime={st.MtimeSec}.{st.MtimeNsec:D9}");
            }

            switch (type)
            {
                case "file":
                    using (var f = File.OpenRead(path))
                    {
                        sb.Append(CultureInfo.InvariantCulture, $" size={st.Size} sha256={Convert.ToHexStringLower(SHA256.HashData(f))}");
                    }

                    break;
                case "symlink":
                    sb.Append(" -> ").Append(PosixFs.ReadLink(path));
                    break;
                case "char" or "block":
                    sb.Append(CultureInfo.InvariantCulture, $" rdev={st.Device:x}");
                    break;
            }

            foreach (var name in PosixFs.ListXattrs(path).Order(StringComparer.Ordinal))
            {
                sb.Append(CultureInfo.InvariantCulture, $" xattr:{name}={Convert.ToHexStringLower(PosixFs.GetXattr(path, name) ?? [])}");
            }

            if (linkGroup.TryGetValue(rel, out var first))
            {
                sb.Append(" inode-of=").Append(first);
            }

            lines[rel] = sb.ToString();
        }

        return lines;
    }

    /// <summary>The differences, one line each ("path: left | right"), empty when the trees are the same.</summary>
    public static IReadOnlyList<string> Differences(IReadOnlyDictionary<string, string> left, IReadOnlyDictionary<string, string> right) =>
        [.. left.Keys.Union(right.Keys).Order(StringComparer.Ordinal)
            .Where(k => !left.TryGetValue(k, out var l) || !right.TryGetValue(k, out var r) || l != r)
            .Select(k => $"{k}: {left.GetValueOrDefault(k, "(absent)")} | {right.GetValueOrDefault(k, "(absent)")}")];

    /// <summary>
    /// <see cref="WrittenMtimes"/>, plus any mtime at or after <paramref name="since"/>: a directory the layer does not
    /// list (created as a parent) has the time it was made, on both sides; a layer's own times are long past.
    /// </summary>
    public static Func<string, FileStatView, bool> WrittenSince(DateTimeOffset since) =>
        (rel, st) => WrittenMtimes(rel, st) || st.MtimeSec >= since.ToUnixTimeSeconds();

    /// <summary>The root's mtime (touched by whoever wrote into it) and overlay whiteouts' (made when applied).</summary>
    public static bool WrittenMtimes(string rel, FileStatView st) =>
        rel == "." || ((st.Mode & PosixFs.TypeMask) == PosixFs.TypeChar && st.Device == 0);
}

/// <summary>What <see cref="SnapshotTree"/> tells an mtime filter about a path.</summary>
public readonly record struct FileStatView(uint Mode, int Uid, int Gid, long MtimeSec, long MtimeNsec, ulong Device, long Size);
