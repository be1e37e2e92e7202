using System.Formats.Tar;
using System.Text;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// Writes a layer tar (PAX) entry by entry with everything a layer can say: owner, mode bits, sub-second mtimes (100 ns),
/// xattrs, devices, FIFOs, links and whiteouts, hostile names included. <see cref="ToArray"/> ends the archive.
/// </summary>
public sealed class LayerTar : IDisposable
{
    public static readonly DateTimeOffset DefaultTime = new(2021, 3, 4, 5, 6, 7, TimeSpan.Zero);

    private readonly MemoryStream _stream = new();
    private TarWriter? _writer;

    public LayerTar() => _writer = new TarWriter(_stream, TarEntryFormat.Pax, leaveOpen: true);

    public LayerTar Dir(string name, UnixFileMode mode = (UnixFileMode)0x1ED, int uid = 0, int gid = 0, string? mtime = null) =>
        Write(TarEntryType.Directory, name.EndsWith('/') ? name : name + "/", mode, uid, gid, mtime);

    public LayerTar File(string name, string text, UnixFileMode mode = (UnixFileMode)0x1A4, int uid = 0, int gid = 0, string? mtime = null, IReadOnlyDictionary<string, string>? xattrs = null) =>
        File(name, Encoding.UTF8.GetBytes(text), mode, uid, gid, mtime, xattrs);

    public LayerTar File(string name, byte[] data, UnixFileMode mode = (UnixFileMode)0x1A4, int uid = 0, int gid = 0, string? mtime = null, IReadOnlyDictionary<string, string>? xattrs = null) =>
        Write(TarEntryType.RegularFile, name, mode, uid, gid, mtime, xattrs, data: new MemoryStream(data, writable: false));

    /// <summary>A file of <paramref name="length"/> bytes, zero except <paramref name="tail"/> at the end (a sparse file on disk).</summary>
    public LayerTar SparseLike(string name, long length, byte[] tail)
    {
        var data = new byte[length];
        tail.CopyTo(data, length - tail.Length);
        return File(name, data);
    }

    public LayerTar Symlink(string name, string target, int uid = 0, int gid = 0) =>
        Write(TarEntryType.SymbolicLink, name, (UnixFileMode)0x1FF, uid, gid, null, link: target);

    /// <summary>A hard link; like containerd, the applier gives the shared inode this entry's owner, mode and mtime.</summary>
    public LayerTar HardLink(string name, string target, UnixFileMode mode = (UnixFileMode)0x1A4, int uid = 0, int gid = 0) =>
        Write(TarEntryType.HardLink, name, mode, uid, gid, null, link: target);

    public LayerTar Fifo(string name, UnixFileMode mode = (UnixFileMode)0x1A4) => Write(TarEntryType.Fifo, name, mode, 0, 0, null);

    public LayerTar CharDevice(string name, int major, int minor, UnixFileMode mode = (UnixFileMode)0x1B6) =>
        Write(TarEntryType.CharacterDevice, name, mode, 0, 0, null, major: major, minor: minor);

    public LayerTar BlockDevice(string name, int major, int minor) =>
        Write(TarEntryType.BlockDevice, name, (UnixFileMode)0x1B0, 0, 0, null, major: major, minor: minor);

    /// <summary>An OCI whiteout for <paramref name="name"/> (<c>dir/.wh.base</c>).</summary>
    public LayerTar Whiteout(string name)
    {
        var slash = name.LastIndexOf('/');
        return File(slash < 0 ? ".wh." + name : name[..(slash + 1)] + ".wh." + name[(slash + 1)..], "");
    }

    /// <summary>The opaque marker in <paramref name="dir"/>.</summary>
    public LayerTar Opaque(string dir) => File(dir.TrimEnd('/') + "/.wh..wh..opq", "");

    public byte[] ToArray()
    {
        _writer?.Dispose();
        _writer = null;
        return _stream.ToArray();
    }

    public void Dispose()
    {
        _writer?.Dispose();
        _stream.Dispose();
    }

    /// <summary>"seconds[.fraction]" to 100 ns, the tar writer's precision (it writes PAX mtime from this).</summary>
    private static DateTimeOffset ParseTime(string text)
    {
        var seconds = decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        return DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond));
    }

    private LayerTar Write(TarEntryType type, string name, UnixFileMode mode, int uid, int gid, string? mtime, IReadOnlyDictionary<string, string>? xattrs = null, Stream? data = null, string? link = null, int major = 0, int minor = 0)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in xattrs ?? new Dictionary<string, string>())
        {
            attributes["SCHILY.xattr." + key] = value;
        }

        var entry = new PaxTarEntry(type, name, attributes)
        {
            Mode = mode,
            Uid = uid,
            Gid = gid,
            ModificationTime = mtime is null ? DefaultTime : ParseTime(mtime),
        };
        if (data is not null)
        {
            entry.DataStream = data;
        }

        if (link is not null)
        {
            entry.LinkName = link;
        }

        if (type is TarEntryType.CharacterDevice or TarEntryType.BlockDevice)
        {
            entry.DeviceMajor = major;
            entry.DeviceMinor = minor;
        }

        (_writer ?? throw new InvalidOperationException("archive already finished")).WriteEntry(entry);
        return this;
    }
}
