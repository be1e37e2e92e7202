using System.Runtime.InteropServices;

namespace Imageimportd.Scan;

/// <summary>
/// The file type bits of stat(2), which .NET does not expose: opening a FIFO blocks until a writer appears and a
/// device never ends, so the type is checked before a file is ever opened.
/// </summary>
internal static partial class SpecialFiles
{
    private const uint TypeMask = 0xF000;
    private const uint Regular = 0x8000;

    /// <summary>True when <paramref name="path"/> (following symlinks) is a regular file.</summary>
    public static bool IsRegularFile(string path)
    {
        var buffer = new byte[256];
        if (Stat(path, buffer) != 0)
        {
            return false;
        }

        // st_mode follows st_dev and st_ino; x86_64 has an 8-byte st_nlink before it, the generic layout
        // (arm64, riscv64, loong64) a 4-byte one after it.
        var offset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 24 : 16;
        var mode = BitConverter.ToUInt32(buffer, offset);
        return (mode & TypeMask) == Regular;
    }

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, [Out] byte[] buffer);
}
