using System.Runtime.InteropServices;

namespace Imageimportd.Native;

/// <summary>
/// The libc constants and calls more than one part of imageimportd needs (the scan's <c>NativeFile</c>, direct apply's
/// <c>PosixFs</c>), declared once: errno values, the *at() flags and open(2) flags for Linux (one set on x86-64 and
/// arm64), and open/close on raw descriptors.
/// </summary>
internal static partial class Libc
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int EINTR = 4;
    public const int EXDEV = 18;
    public const int EACCES = 13;
    public const int EEXIST = 17;
    public const int ENOTDIR = 20;
    public const int EISDIR = 21;
    public const int EINVAL = 22;
    public const int EMLINK = 31;
    public const int ERANGE = 34;
    public const int ENAMETOOLONG = 36;
    public const int ELOOP = 40;
    public const int ENODATA = 61;
    public const int ENOTSUP = 95;

    public const int AtFdCwd = -100;
    public const int AtSymlinkNoFollow = 0x100;
    public const int AtEmptyPath = 0x1000;

    public const int ORdOnly = 0;
    public const int OWrOnly = 1;
    public const int OCreat = 0x40;
    public const int OExcl = 0x80;
    public const int ONoCtty = 0x100;
    public const int ONonBlock = 0x800;
    public const int ONoFollow = 0x20000;
    public const int OCloExec = 0x80000;

    /// <summary>open(2) of a NUL-terminated path; <paramref name="mode"/> matters with <see cref="OCreat"/>.</summary>
    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    public static partial int Open(byte[] path, int flags, uint mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);
}
