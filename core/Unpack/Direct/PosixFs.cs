using System.Runtime.InteropServices;
using Imageimportd.Native;
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

    public static uint EffectiveUid => GetEuid();

    /// <summary>
    /// The process's umask, read once from /proc/self/status (umask(2) cannot be read without setting it, which would
    /// race with other threads creating files); all bits set (so nothing relies on it) when it cannot be read.
    /// </summary>
    public static uint Umask { get; } = ReadUmask();

    /// <summary>lstat(2) of the path itself (statx without following, the scan's own); null when it does not exist (or a parent is not a directory).</summary>
    public static LstatResult? Lstat(string path)
    {
        if (NativeFile.Stat(path, follow: false, out var errno) is not { } status)
        {
            return errno is Libc.ENOENT or Libc.ENOTDIR ? null : throw Error("lstat", path, errno);
        }

        return new LstatResult(status.Mode, status.Uid, status.Gid, status.Atime.Seconds, status.Atime.Nanoseconds, status.Mtime.Seconds, status.Mtime.Nanoseconds,
            status.Inode, MakeDevice(status.Rdev.Major, status.Rdev.Minor), status.Size);
    }

    private static uint ReadUmask()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("Umask:", StringComparison.Ordinal))
                {
                    return Convert.ToUInt32(line["Umask:".Length..].Trim(), 8);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            // Older kernels, or no /proc: every file gets its fchmod.
        }

        return 0xFFF;
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
        return errno is Libc.EINVAL or Libc.ENOENT or Libc.ENOTDIR ? null : throw Error("readlink", path, errno);
    }

    public static void Lchown(string path, int uid, int gid) => CheckResult(LchownNative(path, uid, gid), "lchown", path);

    /// <summary>chmod(2) follows links: callers never pass a symlink (permissions of links mean nothing on Linux).</summary>
    public static void Chmod(string path, uint mode) => CheckResult(ChmodNative(path, mode), "chmod", path);

    public static void Mknod(string path, uint mode, ulong device) => CheckResult(MknodNative(path, mode, device), "mknod", path);

    public static void Symlink(string target, string path) => CheckResult(SymlinkNative(target, path), "symlink", path);

    /// <summary>lsetxattr(2) that must succeed (the overlay opaque marker).</summary>
    public static void SetXattr(string path, string name, ReadOnlySpan<byte> value) =>
        CheckResult(LsetxattrNative(path, name, ref MemoryMarshal.GetReference(value), (nuint)value.Length, 0), "lsetxattr " + name, path);

    public static void Link(string target, string path) => CheckResult(LinkNative(target, path), "link", path);

    /// <summary>Sets atime and mtime of the path itself (never a symlink's target), to the nanosecond.</summary>
    public static void SetTimes(string path, long atimeSec, long atimeNsec, long mtimeSec, long mtimeNsec)
    {
        Span<long> times = [atimeSec, atimeNsec, mtimeSec, mtimeNsec];
        CheckResult(UtimensatNative(Libc.AtFdCwd, path, ref times[0], Libc.AtSymlinkNoFollow), "utimensat", path);
    }

    /// <summary>
    /// lsetxattr(2). Returns false when the filesystem refuses the name as containerd tolerates it (ENOTSUP, or EPERM for
    /// a user.* attribute on something that is neither file nor directory); throws otherwise.
    /// </summary>
    /// With <paramref name="fd"/> (an open descriptor of <paramref name="path"/>) it is fsetxattr(2) on it instead.
    public static bool TrySetXattr(string path, string name, ReadOnlySpan<byte> value, bool isFileOrDir, int fd = -1)
    {
        var rc = fd >= 0
            ? FsetxattrNative(fd, name, ref MemoryMarshal.GetReference(value), (nuint)value.Length, 0)
            : LsetxattrNative(path, name, ref MemoryMarshal.GetReference(value), (nuint)value.Length, 0);
        if (rc == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno == Libc.ENOTSUP || (errno == Libc.EPERM && name.StartsWith("user.", StringComparison.Ordinal) && !isFileOrDir))
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
            if (errno == Libc.ENOTSUP)
            {
                return [];
            }

            if (errno != Libc.ERANGE || size > 1 << 20)
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
            if (errno is Libc.ENODATA or Libc.ENOTSUP)
            {
                return null;
            }

            if (errno != Libc.ERANGE || size > 1 << 20)
            {
                throw Error("lgetxattr " + name, path, errno);
            }

            size *= 4;
        }
    }

    /// <summary>mkdir(2); the errno, 0 on success (<see cref="Libc.EEXIST"/> is the caller's to judge).</summary>
    public static int TryMkdir(string path, uint mode) => Errno(MkdirNative(path, mode));

    public static int TryMknod(string path, uint mode, ulong device) => Errno(MknodNative(path, mode, device));

    public static int TrySymlink(string target, string path) => Errno(SymlinkNative(target, path));

    public static int TryLink(string target, string path) => Errno(LinkNative(target, path));

    /// <summary>
    /// Creates a new regular file with <paramref name="mode"/> (less the umask) for writing (O_EXCL|O_NOFOLLOW: never
    /// opens what is there, never follows a link); the errno, 0 on success with the descriptor in <paramref name="fd"/>.
    /// </summary>
    public static int TryCreateFile(string path, uint mode, out int fd)
    {
        fd = Libc.Open(NativePath.Encode(path), Libc.OWrOnly | Libc.OCreat | Libc.OExcl | Libc.ONoFollow | Libc.OCloExec, mode);
        return fd >= 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    /// <summary>pwrite(2) of all of <paramref name="data"/> at <paramref name="offset"/>.</summary>
    public static void WriteAt(int fd, ReadOnlySpan<byte> data, long offset, string path)
    {
        while (data.Length > 0)
        {
            var n = PwriteNative(fd, ref MemoryMarshal.GetReference(data), (nuint)data.Length, offset);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == Libc.EINTR)
                {
                    continue;
                }

                throw Error("pwrite", path, errno);
            }

            data = data[(int)n..];
            offset += n;
        }
    }

    public static void Truncate(int fd, long length, string path) => CheckResult(FtruncateNative(fd, length), "ftruncate", path);

    public static void Fchown(int fd, int uid, int gid, string path) => CheckResult(FchownNative(fd, uid, gid), "fchown", path);

    public static void Fchmod(int fd, uint mode, string path) => CheckResult(FchmodNative(fd, mode), "fchmod", path);

    /// <summary>Sets atime and mtime of an open file, to the nanosecond.</summary>
    public static void Futimens(int fd, long atimeSec, long atimeNsec, long mtimeSec, long mtimeNsec, string path)
    {
        Span<long> times = [atimeSec, atimeNsec, mtimeSec, mtimeNsec];
        CheckResult(FutimensNative(fd, ref times[0]), "futimens", path);
    }

    /// <summary>close(2), ignoring a negative descriptor; errors are not reported (the data is already written).</summary>
    public static void Close(int fd)
    {
        if (fd >= 0)
        {
            _ = Libc.Close(fd);
        }
    }

    /// <summary>Throws the <see cref="IOException"/> for <paramref name="errno"/> unless it is 0.</summary>
    public static void Check(int errno, string call, string path)
    {
        if (errno != 0)
        {
            throw Error(call, path, errno);
        }
    }

    private static int Errno(int result) => result == 0 ? 0 : Marshal.GetLastPInvokeError();

    private static void CheckResult(int result, string call, string path)
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

    [LibraryImport("libc", EntryPoint = "fsetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int FsetxattrNative(int fd, string name, ref byte value, nuint size, int flags);

    [LibraryImport("libc", EntryPoint = "mkdir", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int MkdirNative(string path, uint mode);

    [LibraryImport("libc", EntryPoint = "pwrite", SetLastError = true)]
    private static partial nint PwriteNative(int fd, ref byte data, nuint size, long offset);

    [LibraryImport("libc", EntryPoint = "ftruncate", SetLastError = true)]
    private static partial int FtruncateNative(int fd, long length);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int FchownNative(int fd, int uid, int gid);

    [LibraryImport("libc", EntryPoint = "fchmod", SetLastError = true)]
    private static partial int FchmodNative(int fd, uint mode);

    [LibraryImport("libc", EntryPoint = "futimens", SetLastError = true)]
    private static partial int FutimensNative(int fd, ref long times);

    [LibraryImport("libc", EntryPoint = "lgetxattr", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint LgetxattrNative(string path, string name, ref byte value, nuint size);
}
