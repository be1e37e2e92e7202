using Microsoft.Win32.SafeHandles;

namespace Imageimportd.Scan;

/// <summary>
/// Opens what the images directory holds without ever blocking: <c>open(O_NONBLOCK|O_NOCTTY|O_CLOEXEC)</c> returns at
/// once for a FIFO or a device, the type is checked on the opened descriptor (so a link swapped after a stat cannot
/// slip a FIFO in), and only a regular file on a real file system is kept. Files of procfs, sysfs and the like are
/// "regular" too, but a read of <c>/proc/kmsg</c> never ends, so they are refused by file system type.
/// </summary>
public static class SafeFile
{
    // statfs f_type magics of pseudo file systems, whose files are not archives and whose reads may block.
    private static readonly HashSet<long> PseudoFileSystems =
    [
        0x9FA0,      // procfs
        0x62656572,  // sysfs
        0x64626720,  // debugfs
        0x74726163,  // tracefs
        0x73636673,  // securityfs
        0x62656570,  // configfs
        0x27E0EB,    // cgroup
        0x63677270,  // cgroup2
        0x6E736673,  // nsfs
        0x50495045,  // pipefs
        0x534F434B,  // sockfs
        0xCAFE4A11,  // bpf
    ];

    /// <summary>
    /// Opens <paramref name="path"/> for reading, or throws with plain words: <see cref="FileNotFoundException"/> when
    /// it is gone, <see cref="UnauthorizedAccessException"/> when permission is denied, <see cref="IOException"/>
    /// "not a regular file (a FIFO)" and the like otherwise. Reads of a regular file on a real file system always end,
    /// so a cancellation is seen between them; <paramref name="status"/> is the opened file's statx.
    /// </summary>
    public static FileStream OpenRead(string path, int bufferSize, out FileStat status)
    {
        var fd = NativeFile.OpenNonBlocking(path, out var errno);
        if (fd < 0)
        {
            throw errno switch
            {
                NativeFile.ENOENT => new FileNotFoundException("file vanished", path),
                NativeFile.EACCES => new UnauthorizedAccessException("permission denied"),
                NativeFile.ELOOP => new IOException("symbolic link loop"),
                NativeFile.ENAMETOOLONG => new PathTooLongException("path too long"),
                _ => new IOException("cannot open: " + ErrnoText(errno)),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            status = NativeFile.Stat(handle, out errno) ?? throw new IOException("cannot stat: " + ErrnoText(errno));
            if (!status.IsRegular)
            {
                throw new IOException($"not a regular file ({status.TypeName})");
            }

            if (NativeFile.FileSystemType(handle) is { } fsType && PseudoFileSystems.Contains(fsType))
            {
                throw new IOException("not a regular file (a file of a kernel pseudo file system such as /proc or /sys)");
            }

            if (!NativeFile.ClearNonBlocking(handle))
            {
                throw new IOException("cannot clear O_NONBLOCK");
            }

            return new FileStream(handle, FileAccess.Read, bufferSize);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>statx of a path following links, or null when it cannot be stat'ed (gone, loop, too long, …).</summary>
    public static FileStat? Stat(string path) => NativeFile.Stat(path, follow: true, out _);

    /// <summary>True when <paramref name="path"/> (following symlinks) is a regular file.</summary>
    public static bool IsRegular(string path) => Stat(path) is { IsRegular: true };

    internal static string ErrnoText(int errno) => System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno);
}
