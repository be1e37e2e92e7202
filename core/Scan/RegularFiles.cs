namespace Imageimportd.Scan;

/// <summary>Tells regular files from everything that must never be opened (FIFOs block, devices never end).</summary>
public static class RegularFiles
{
    /// <summary>
    /// True for a regular file, or a symlink that resolves (without loops) to one. Only a hint before a file is
    /// queued: <see cref="SafeFile.OpenRead"/> checks the opened descriptor again.
    /// </summary>
    public static bool IsRegular(string path) => SafeFile.IsRegular(path);
}
