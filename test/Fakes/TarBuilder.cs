using System.Formats.Tar;
using System.Text;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// The one way tests write a tar: in memory, entry by entry in the order called, duplicates, hostile names and any
/// order allowed. Every entry type a layer can hold (files, directories, links, FIFOs, devices, whiteouts) with owner,
/// mode, sub-second mtime (100 ns, the tar writer's precision) and, in PAX, xattrs. <see cref="ToArray"/> ends the
/// archive (two zero blocks). Outer archives (docker save, OCI layout) use the default ustar; layers use
/// <see cref="TarEntryFormat.Pax"/> for xattrs and exact times. <see cref="RawHeader"/> hand-writes a header the
/// writer refuses to.
/// </summary>
public sealed class TarBuilder : IDisposable
{
    /// <summary>The mtime of an entry that names none.</summary>
    public static readonly DateTimeOffset DefaultTime = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private const UnixFileMode FileMode = (UnixFileMode)0x1A4; // 0644
    private const UnixFileMode DirectoryMode = (UnixFileMode)0x1ED; // 0755

    private readonly MemoryStream _stream = new();
    private readonly TarEntryFormat _format;
    private TarWriter? _writer;

    public TarBuilder(TarEntryFormat format = TarEntryFormat.Ustar)
    {
        _format = format;
        _writer = new TarWriter(_stream, format, leaveOpen: true);
    }

    /// <summary>Entries written so far.</summary>
    public int Count { get; private set; }

    /// <summary>Bytes written so far, without the end of archive.</summary>
    public long Length => _stream.Length;

    /// <param name="mtime">Unix seconds with an optional fraction; <see cref="DefaultTime"/> when null.</param>
    public TarBuilder File(string name, string text, UnixFileMode mode = FileMode, int uid = 0, int gid = 0, decimal? mtime = null, IReadOnlyDictionary<string, string>? xattrs = null) =>
        File(name, Encoding.UTF8.GetBytes(text), mode, uid, gid, mtime, xattrs);

    /// <param name="mtime">Unix seconds with an optional fraction; <see cref="DefaultTime"/> when null.</param>
    public TarBuilder File(string name, byte[] data, UnixFileMode mode = FileMode, int uid = 0, int gid = 0, decimal? mtime = null, IReadOnlyDictionary<string, string>? xattrs = null)
    {
        var entry = NewEntry(_format == TarEntryFormat.V7 ? TarEntryType.V7RegularFile : TarEntryType.RegularFile, name, mode, uid, gid, mtime, xattrs);
        entry.DataStream = new MemoryStream(data, writable: false);
        return Write(entry);
    }

    /// <summary>A file of <paramref name="length"/> bytes, zero except <paramref name="tail"/> at the end (a sparse file on disk).</summary>
    public TarBuilder SparseLike(string name, long length, byte[] tail)
    {
        var data = new byte[length];
        tail.CopyTo(data, length - tail.Length);
        return File(name, data);
    }

    /// <param name="mtime">Unix seconds with an optional fraction; <see cref="DefaultTime"/> when null.</param>
    public TarBuilder Directory(string name, UnixFileMode mode = DirectoryMode, int uid = 0, int gid = 0, decimal? mtime = null) =>
        Write(NewEntry(TarEntryType.Directory, name.EndsWith('/') ? name : name + "/", mode, uid, gid, mtime));

    public TarBuilder Symlink(string name, string target, int uid = 0, int gid = 0) =>
        Write(NewEntry(TarEntryType.SymbolicLink, name, (UnixFileMode)0x1FF, uid, gid, link: target));

    /// <summary>A hard link; like containerd, an applier gives the shared inode this entry's owner, mode and mtime.</summary>
    public TarBuilder HardLink(string name, string target, UnixFileMode mode = FileMode, int uid = 0, int gid = 0) =>
        Write(NewEntry(TarEntryType.HardLink, name, mode, uid, gid, link: target));

    public TarBuilder Fifo(string name, UnixFileMode mode = FileMode) => Write(NewEntry(TarEntryType.Fifo, name, mode));

    public TarBuilder CharDevice(string name, int major, int minor, UnixFileMode mode = (UnixFileMode)0x1B6) =>
        Write(Device(NewEntry(TarEntryType.CharacterDevice, name, mode), major, minor));

    public TarBuilder BlockDevice(string name, int major, int minor) =>
        Write(Device(NewEntry(TarEntryType.BlockDevice, name, (UnixFileMode)0x1B0), major, minor));

    /// <summary>An OCI whiteout for <paramref name="name"/> (<c>dir/.wh.base</c>).</summary>
    public TarBuilder Whiteout(string name)
    {
        var slash = name.LastIndexOf('/');
        return File(slash < 0 ? ".wh." + name : name[..(slash + 1)] + ".wh." + name[(slash + 1)..], "");
    }

    /// <summary>The opaque marker in <paramref name="dir"/>.</summary>
    public TarBuilder Opaque(string dir) => File(dir.TrimEnd('/') + "/.wh..wh..opq", "");

    /// <summary>The finished archive. Further entries cannot be added.</summary>
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

    /// <summary>
    /// One ustar header block with a valid checksum declaring <paramref name="size"/> bytes of data, written by hand
    /// because the tar writer will not declare a size it is not given (a huge GNU long name or PAX header).
    /// </summary>
    public static byte[] RawHeader(string name, char type, long size) => Harness.RawTar.Header(name, (byte)type, size);

    private static TarEntry Device(TarEntry entry, int major, int minor)
    {
        var posix = entry as PosixTarEntry ?? throw new NotSupportedException("a V7 archive has no devices");
        posix.DeviceMajor = major;
        posix.DeviceMinor = minor;
        return entry;
    }

    private TarBuilder Write(TarEntry entry)
    {
        var writer = _writer ?? throw new InvalidOperationException("the archive is finished");
        writer.WriteEntry(entry);
        Count++;
        return this;
    }

    private TarEntry NewEntry(TarEntryType type, string name, UnixFileMode mode, int uid = 0, int gid = 0, decimal? mtime = null, IReadOnlyDictionary<string, string>? xattrs = null, string? link = null)
    {
        if (xattrs is { Count: > 0 } && _format != TarEntryFormat.Pax)
        {
            throw new ArgumentException("only a PAX archive carries xattrs", nameof(xattrs));
        }

        TarEntry entry = _format switch
        {
            TarEntryFormat.V7 => new V7TarEntry(type, name),
            TarEntryFormat.Ustar => new UstarTarEntry(type, name),
            TarEntryFormat.Gnu => new GnuTarEntry(type, name),
            _ => new PaxTarEntry(type, name, (xattrs ?? new Dictionary<string, string>()).ToDictionary(a => "SCHILY.xattr." + a.Key, a => a.Value, StringComparer.Ordinal)),
        };
        entry.Mode = mode;
        entry.Uid = uid;
        entry.Gid = gid;
        entry.ModificationTime = mtime is { } seconds ? DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond)) : DefaultTime;
        if (link is not null)
        {
            entry.LinkName = link;
        }

        return entry;
    }
}
