using Imageimportd.Scan;
using Microsoft.Win32.SafeHandles;

namespace Imageimportd.Cache;

/// <summary>
/// Reads the cache file like any hostile input: opened without following a symlink (a <c>.cache.json</c> linked to
/// <c>/dev/zero</c>, <c>/proc/kmsg</c> or a file outside the images directory is refused) and without blocking (a FIFO
/// opens at once), then the opened descriptor's type is checked with statx(2): only a regular file is read, and only
/// up to a size cap, so the cache can neither hang the daemon before its first log line nor exhaust its memory.
/// The open and the statx are the scan's own (<see cref="NativeFile"/>); what differs is the policy: no symlink at all.
/// </summary>
internal static class CacheFile
{
    private const int NotDirectory = 20;

    /// <summary>What reading found: <see cref="Bytes"/> (null when the file does not exist) or why it was refused.</summary>
    public readonly record struct Result(ArraySegment<byte>? Bytes, string? Refused);

    public static Result Read(string path, long maxBytes)
    {
        var fd = NativeFile.OpenNonBlocking(path, out var errno, noFollow: true);
        if (fd < 0)
        {
            return errno switch
            {
                NativeFile.ENOENT or NotDirectory => new Result(null, null),
                NativeFile.ELOOP => new Result(null, "it is a symbolic link, which the cache never follows"),
                _ => new Result(null, SafeFile.ErrnoText(errno)),
            };
        }

        using var handle = new SafeFileHandle(fd, ownsHandle: true);
        if (NativeFile.Stat(handle, out errno) is not { } status)
        {
            return new Result(null, SafeFile.ErrnoText(errno));
        }

        if (!status.IsRegular)
        {
            return new Result(null, "it is not a regular file");
        }

        var size = status.Size;
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
}
