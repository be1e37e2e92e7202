using System.Runtime.InteropServices;

namespace Imageimportd.Queue;

/// <summary>
/// <see cref="IFileProbe"/> over stat(2), following symlinks; the stamp carries the inode. .NET's file times stop at 100 ns; stat's
/// <c>st_mtim</c> carries nanoseconds, which is what the cache stores and compares.
/// </summary>
public sealed partial class StatFileProbe : IFileProbe
{
    // The 64-bit kernel layouts (x86_64 and the generic one of arm64, riscv64, loong64) differ before st_size but
    // agree on these offsets: st_ino at 8, st_size at 48, st_mtim (seconds, nanoseconds) at 88 and 96.
    private const int InodeOffset = 8;
    private const int SizeOffset = 48;
    private const int MtimeSecondsOffset = 88;
    private const int MtimeNanosecondsOffset = 96;

    public static StatFileProbe Instance { get; } = new();

    public FileStamp? Probe(string path)
    {
        var buffer = new byte[256];
        if (Stat(Scan.NativePath.Encode(path), buffer) != 0)
        {
            return null;
        }

        var size = BitConverter.ToInt64(buffer, SizeOffset);
        var seconds = BitConverter.ToInt64(buffer, MtimeSecondsOffset);
        var nanoseconds = BitConverter.ToInt64(buffer, MtimeNanosecondsOffset);
        var inode = BitConverter.ToUInt64(buffer, InodeOffset);
        return new FileStamp(size, (seconds * 1_000_000_000) + nanoseconds, inode);
    }

    // The path as bytes: a name that is not UTF-8 is kept as raw bytes by the scan (Scan.NativePath).
    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true)]
    private static partial int Stat(byte[] path, [Out] byte[] buffer);
}
