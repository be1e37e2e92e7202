using System.Runtime.InteropServices;

namespace Imageimportd.Cache;

/// <summary>
/// fsync(2) of a directory, which .NET cannot open as a stream: after a rename, only syncing the directory makes the
/// new name survive a power cut.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnly = 0;

    /// <summary>Best effort: false when the directory cannot be opened or synced.</summary>
    public static bool Sync(string directory)
    {
        var fd = Open(directory, ReadOnly);
        if (fd < 0)
        {
            return false;
        }

        try
        {
            return Fsync(fd) == 0;
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
