namespace Imageimportd.Scan;

/// <summary>Tells regular files from everything that must never be opened (FIFOs block, devices never end).</summary>
public static class RegularFiles
{
    /// <summary>True for a regular file, or a symlink that resolves (without loops) to one.</summary>
    public static bool IsRegular(string path)
    {
        try
        {
            FileSystemInfo info = new FileInfo(path);
            if (info.LinkTarget is not null)
            {
                info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
            }

            if (!info.Exists || info is not FileInfo)
            {
                return false;
            }

            // .NET reports FIFOs, sockets and devices as files; only stat's type bits tell them apart.
            return SpecialFiles.IsRegularFile(info.FullName);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
