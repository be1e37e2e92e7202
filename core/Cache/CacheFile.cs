using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Imageimportd.Cache;

/// <summary>
/// Reads the cache file like any hostile input: opened without following a symlink (a <c>.cache.json</c> linked to
/// <c>/dev/zero</c>, <c>/proc/kmsg</c> or a file outside the images directory is refused) and without blocking (a FIFO
/// opens at once), then the opened descriptor's type is checked with fstat(2): only a regular file is read, and only
/// up to a size cap, so the cache can neither hang the daemon before its first log line nor exhaust its memory.
/// (The scan has a helper of the same kind for archives; this one stays here so the cache needs nothing from it.)
/// </summary>
internal static partial class CacheFile
{
    private const int OpenReadOnly = 0;
    private const int OpenNonBlocking = 0x800;
    private const int OpenNoFollow = 0x20000;
    private const int OpenCloseOnExec = 0x80000;
    private const int NoEntry = 2;
    private const int NotDirectory = 20;
    private const int Loop = 40;
    private const uint TypeMask = 0xF000;
    private const uint Regular = 0x8000;

    /// <summary>What reading found: <see cref="Bytes"/> (null when the file does not exist) or why it was refused.</summary>
    public readonly record struct Result(ArraySegment<byte>? Bytes, string? Refused);

    public static Result Read(string path, long maxBytes)
    {
        var fd = Open(path, OpenReadOnly | OpenNonBlocking | OpenNoFollow | OpenCloseOnExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno switch
            {
                NoEntry or NotDirectory => new Result(null, null),
                Loop => new Result(null, "it is a symbolic link, which the cache never follows"),
                _ => new Result(null, Marshal.GetPInvokeErrorMessage(errno)),
            };
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        var stat = new byte[256];
        if (Fstat(fd, stat) != 0)
        {
            return new Result(null, Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError()));
        }

        // st_mode follows st_dev and st_ino: x86_64 has an 8-byte st_nlink before it, the generic 64-bit layout
        // (arm64, riscv64, loong64) a 4-byte one after it. st_size is at 48 in both.
        var mode = BitConverter.ToUInt32(stat, RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16);
        if ((mode & TypeMask) != Regular)
        {
            return new Result(null, "it is not a regular file");
        }

        var size = BitConverter.ToInt64(stat, 48);
        if (size > maxBytes)
        {
            return new Result(null, $"it is {size / (1024 * 1024)} MiB, over the {maxBytes / (1024 * 1024)} MiB limit");
        }

        // Read to the end but never past the cap: a file that grows while being read is refused too.
        var buffer = new byte[(int)Math.Min(size + 1, maxBytes + 1)];
        var total = 0;
        while (true)
        {
            if (total == buffer.Length)
            {
                if (buffer.Length > maxBytes)
                {
                    return new Result(null, $"it grew over the {maxBytes / (1024 * 1024)} MiB limit while being read");
                }

                Array.Resize(ref buffer, (int)Math.Min((long)buffer.Length * 2, maxBytes + 1));
            }

            var n = RandomAccess.Read(handle, buffer.AsSpan(total), total);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return new Result(new ArraySegment<byte>(buffer, 0, total), null);
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int Fstat(int fd, [Out] byte[] buffer);
}
