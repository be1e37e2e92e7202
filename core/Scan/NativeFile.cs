using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Imageimportd.Native;

namespace Imageimportd.Scan;

/// <summary>
/// The few libc calls .NET does not expose: statx (type, device, inode, blocks — one layout on every
/// architecture), open without blocking, fstatfs, and readdir with the raw bytes of each name.
/// </summary>
internal static partial class NativeFile
{
    public const int ENOENT = Libc.ENOENT;
    public const int EACCES = Libc.EACCES;
    public const int ENAMETOOLONG = Libc.ENAMETOOLONG;
    public const int ELOOP = Libc.ELOOP;

    private const uint StatxBasicStats = 0x7FF;
    private const int FGetFl = 3;
    private const int FSetFl = 4;

    /// <summary>statx of a path; <paramref name="follow"/> false looks at a symlink itself. Null with errno on failure.</summary>
    public static FileStat? Stat(string path, bool follow, out int errno)
    {
        var buffer = new byte[256];
        var rc = Statx(Libc.AtFdCwd, NativePath.Encode(path), follow ? 0 : Libc.AtSymlinkNoFollow, StatxBasicStats, buffer);
        errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
        return rc == 0 ? Parse(buffer) : null;
    }

    /// <summary>statx of an open descriptor.</summary>
    public static FileStat? Stat(SafeHandle fd, out int errno)
    {
        var buffer = new byte[256];
        var rc = StatxFd(fd, [0], Libc.AtEmptyPath, StatxBasicStats, buffer);
        errno = rc == 0 ? 0 : Marshal.GetLastPInvokeError();
        return rc == 0 ? Parse(buffer) : null;
    }

    /// <summary>
    /// open(O_RDONLY|O_NONBLOCK|O_NOCTTY|O_CLOEXEC): never waits for a FIFO's writer or a device. With
    /// <paramref name="noFollow"/> (O_NOFOLLOW), a symlink as the last component fails with <see cref="ELOOP"/>.
    /// </summary>
    public static int OpenNonBlocking(string path, out int errno, bool noFollow = false)
    {
        var fd = Libc.Open(NativePath.Encode(path), Libc.ORdOnly | Libc.ONonBlock | Libc.ONoCtty | Libc.OCloExec | (noFollow ? Libc.ONoFollow : 0), 0);
        errno = fd >= 0 ? 0 : Marshal.GetLastPInvokeError();
        return fd;
    }

    /// <summary>Clears O_NONBLOCK again, so reads of a regular file behave as usual.</summary>
    public static bool ClearNonBlocking(SafeHandle fd)
    {
        var flags = Fcntl(fd, FGetFl, 0);
        return flags >= 0 && ((flags & Libc.ONonBlock) == 0 || Fcntl(fd, FSetFl, flags & ~Libc.ONonBlock) == 0);
    }

    /// <summary>The file system type magic (<c>f_type</c> of fstatfs), or null when unknown.</summary>
    public static long? FileSystemType(SafeHandle fd)
    {
        var buffer = new byte[128];
        return Fstatfs(fd, buffer) == 0 ? BinaryPrimitives.ReadInt64LittleEndian(buffer) : null;
    }

    /// <summary>readdir's <c>d_type</c> values that spare a stat.</summary>
    public const byte DtDirectory = 4;
    public const byte DtRegular = 8;

    /// <summary>
    /// The raw names in a directory (without <c>.</c> and <c>..</c>), decoded by <see cref="NativePath.Decode"/>, each
    /// with its <c>d_type</c> (0 when the file system does not say). Null with errno when it cannot be opened.
    /// </summary>
    public static List<(string Name, byte Type)>? ReadDirectory(string path, out int errno)
    {
        var dir = OpenDir(NativePath.Encode(path));
        if (dir == IntPtr.Zero)
        {
            errno = Marshal.GetLastPInvokeError();
            return null;
        }

        try
        {
            var names = new List<(string, byte)>();
            var name = new List<byte>(256);
            while (true)
            {
                Marshal.SetLastPInvokeError(0);
                var entry = ReadDir(dir);
                if (entry == IntPtr.Zero)
                {
                    errno = Marshal.GetLastPInvokeError();
                    return names;
                }

                // struct dirent64 on glibc: d_ino (8), d_off (8), d_reclen (2), d_type (1), then d_name.
                name.Clear();
                for (var i = 19; ; i++)
                {
                    var b = Marshal.ReadByte(entry, i);
                    if (b == 0)
                    {
                        break;
                    }

                    name.Add(b);
                }

                if (name is [(byte)'.'] or [(byte)'.', (byte)'.'])
                {
                    continue;
                }

                names.Add((NativePath.Decode(name.ToArray()), Marshal.ReadByte(entry, 18)));
            }
        }
        finally
        {
            _ = CloseDir(dir);
        }
    }

    // struct statx: uid at 20, gid at 24, mode at 28, ino at 32, size at 40, blocks at 48, atime at 64, mtime at 112
    // (each an i64 tv_sec and a u32 tv_nsec), rdev major/minor at 128/132, dev major/minor at 136/140 — one layout on
    // every architecture.
    private static FileStat Parse(byte[] b)
    {
        var mtime = (BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(112)), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(120)));
        return new FileStat(
            Mode: BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(28)),
            Device: ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(136)) << 32) | BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(140)),
            Inode: BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(32)),
            Size: BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(40)),
            Blocks: BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(48)),
            MtimeNanoseconds: (mtime.Item1 * 1_000_000_000) + mtime.Item2)
        {
            Uid = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(20)),
            Gid = BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(24)),
            Atime = (BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(64)), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(72))),
            Mtime = mtime,
            Rdev = (BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(128)), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(132))),
        };
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int Statx(int dirfd, byte[] path, int flags, uint mask, [Out] byte[] buffer);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int StatxFd(SafeHandle dirfd, byte[] path, int flags, uint mask, [Out] byte[] buffer);

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(SafeHandle fd, int command, int argument);

    [LibraryImport("libc", EntryPoint = "fstatfs", SetLastError = true)]
    private static partial int Fstatfs(SafeHandle fd, [Out] byte[] buffer);

    [LibraryImport("libc", EntryPoint = "opendir", SetLastError = true)]
    private static partial IntPtr OpenDir(byte[] path);

    [LibraryImport("libc", EntryPoint = "readdir64", SetLastError = true)]
    private static partial IntPtr ReadDir(IntPtr dir);

    [LibraryImport("libc", EntryPoint = "closedir", SetLastError = true)]
    private static partial int CloseDir(IntPtr dir);
}
