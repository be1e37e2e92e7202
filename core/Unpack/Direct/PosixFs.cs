using System.Runtime.InteropServices;
using Imageimportd.Scan;

namespace Imageimportd.Unpack.Direct;

/// <summary>
/// The few system calls a layer needs that .NET does not offer, or offers only following symlinks: every call here acts
/// on the link itself where the kernel allows it (lchown, lsetxattr, utimensat with AT_SYMLINK_NOFOLLOW), so a
/// symlink planted by a layer never redirects a change. Failures throw <see cref="IOException"/> naming call and path.
/// </summary>
internal static partial class PosixFs
{
    public const uint TypeMask = 0xF000;
    public const uint TypeFifo = 0x1000;
    public const uint TypeChar = 0x2000;
    public const uint TypeDir = 0x4000;
    public const uint TypeBlock = 0x6000;
    public const uint TypeRegular = 0x8000;
    public const uint TypeSymlink = 0xA000;

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int ENoEnt = 2;
    private const int ENotDir = 20;
    private const int EInval = 22;
    private const int ENoData = 61;
    private const int ENotSup = 95;
    private const int EPerm = 1;
    private const int ERange = 34;

    public static uint EffectiveUid => GetEuid();

    /// <summary>lstat(2) of the path itself (statx without following, the scan's own); null when it does not exist (or a parent is not a directory).</summary>
    public static FileStat? Lstat(string path)
    {
        if (NativeFile.Stat(path, follow: false, out var errno) is not { } status)
        {
            return errno is ENoEnt or ENotDir ? null : throw Error("lstat", path, errno);
        }

        return new FileStat(status.Mode, status.Uid, status.Gid, status.Atime.Seconds, status.Atime.Nanoseconds, status.Mtime.Seconds, status.Mtime.Nanoseconds,
            status.Inode, MakeDevice(status.Rdev.Major, status.Rdev.Minor), status.Size);
    }

    /// <summary>glibc's makedev: the dev_t that mknod(2) takes and lstat(2) reports.</summary>
    public static ulong MakeDevice(uint major, uint minor) =>
        ((ulong)(major & 0xFFFFF000) << 32) | ((ulong)(major & 0xFFF) << 8) | ((ulong)(minor & 0xFFFFFF00) << 12) | (minor & 0xFF);

    /// <summary>The target of a symlink, or null when the path is not one (or does not exist).</summary>
    public static string? ReadLink(string path)
    {
        // On the stack: name resolution calls this for every component of every entry (and in every lower layer).
        Span<byte> buffer = stackalloc byte[4096];
        var n = ReadlinkNative(path, ref buffer[0], (nuint)buffer.Length);
        if (n >= 0)
        {
            return System.Text.Encoding.UTF8.GetString(buffer[..(int)n]);
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno is EInval or ENoEnt or ENotDir ? null : throw Error("readlink", path, errno);
    }

    public static void Lchown(string path, int uid, int gid) => Check(LchownNative(path, uid, gid), "lchown", path);

    /// <summary>chmod(2) follows links: callers never pass a symlink (permissions of links mean nothing on Linux).</summary>
    public static void Chmod(string path, uint mode) => Check(ChmodNative(path, mode), "chmod", path);

    public static void Mknod(string path, uint mode, ulong device) => Check(MknodNative(path, mode, device), "mknod", path);

    public static void Symlink(string target, string path) => Check(SymlinkNative(target, path), "symlink", path);

    /// <summary>lsetxattr(2) that must succeed (the overlay opaque marker).</summary>
    public static void SetXattr(string path, string name, ReadOnlySpan<byte> value) =>
        Check(LsetxattrNative(path, name, ref MemoryMarshal.GetReference(value), (nuint)value.Length, 0), "lsetxattr " + name, path);

    public static void Link(string target, string path) => Check(LinkNative(target, path), "link", path);

    /// <summary>Sets atime and mtime of the path itself (never a symlink's target), to the nanosecond.</summary>
    public static void SetTimes(string path, long atimeSec, long atimeNsec, long mtimeSec, long mtimeNsec)
    {
        Span<long> times = [atimeSec, atimeNsec, mtimeSec, mtimeNsec];
        Check(UtimensatNative(AtFdCwd, path, ref times[0], AtSymlinkNoFollow), "utimensat", path);
    }

    /// <summary>
    /// lsetxattr(2). Returns false when the filesystem refuses the name as containerd tolerates it (ENOTSUP, or EPERM for
    /// a user.* attribute on something that is neither file nor directory); throws otherwise.
    /// </summary>
    public static bool TrySetXattr(string path, string name, ReadOnlySpan<byte> value, bool isFileOrDir)
    {
        if (LsetxattrNative(path, name, ref MemoryMarshal.GetReference(value), (nuint)value.Length, 0) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == ENotSup || (errno == EPerm && name.StartsWith("user.", StringComparison.Ordinal) && !isFileOrDir))
        {
            return false;
        }

        throw Error("lsetxattr " + name, path, errno);
    }

    /// <summary>The names of the extended attributes on the path itself.</summary>
    public static IReadOnlyList<string> ListXattrs(string path)
    {
        var size = 1024;
        while (true)
        {
            var buffer = new byte[size];
            var n = LlistxattrNative(path, ref buffer[0], (nuint)buffer.Length);
            if (n >= 0)
            {
                return System.Text.Encoding.UTF8.GetString(buffer, 0, (int)n).Split('\0', StringSplitOptions.RemoveEmptyEntries);
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == ENotSup)
            {
                return [];
            }

            if (errno != ERange || size > 1 << 20)
            {
                throw Error("llistxattr", path, errno);
            }

            size *= 4;
        }
    }

    /// <summary>The value of one extended attribute, or null when absent.</summary>
    public static byte[]? GetXattr(string path, string name)
    {
        var size = 256;
        while (true)
        {
            var buffer = new byte[size];
            var n = LgetxattrNative(path, name, ref buffer[0], (nuint)buffer.Length);
            if (n >= 0)
            {
                return buffer[..(int)n];
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno is ENoData or ENotSup)
            {
                return null;
            }

            if (errno != ERange || size > 1 << 20)
            {
                throw Error("lgetxattr " + name, path, errno);
            }

            size *= 4;
        }
    }

    private static void Check(int result, string call, string path)
    {
        if (result != 0)
        {
            throw Error(call, path, Marshal.GetLastPInvokeError());
        }
    }

    private static IOException Error(string call, string path, int errno) =>
        new($"{call} {path}: {Marshal.GetPInvokeErrorMessage(errno)}", errno);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();


    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ReadlinkNative(string path, ref byte buffer, nuint size);

    [LibraryImport("libc", EntryPoint = "lchown", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LchownNative(string path, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "chmod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int ChmodNative(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "mknod", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MknodNative(string path, uint mode, ulong device);

    [LibraryImport("libc", EntryPoint = "symlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SymlinkNative(string target, string path);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LinkNative(string target, string path);

    [LibraryImport("libc", EntryPoint = "utimensat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int UtimensatNative(int dirFd, string path, ref long times, int flags);

    [LibraryImport("libc", EntryPoint = "lsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LsetxattrNative(string path, string name, ref byte value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "llistxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LlistxattrNative(string path, ref byte list, nuint size);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LgetxattrNative(string path, string name, ref byte value, nuint size);
}
