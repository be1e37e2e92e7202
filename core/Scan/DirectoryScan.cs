namespace Imageimportd.Scan;

/// <summary>
/// Lists candidate files under the images directory: recursive, in ordinal (lexical) order of their relative path so
/// users can put <c>00-pause.tar</c> first. Only regular files (or symlinks to them) count; loops, dangling links,
/// FIFOs, sockets and devices are skipped without ever being opened.
/// </summary>
public static class DirectoryScan
{
    public static IReadOnlyList<string> List(string directory, Func<string, bool> isCandidate)
    {
        var found = new List<string>();
        if (!Directory.Exists(directory))
        {
            return found;
        }

        var options = new EnumerationOptions
        {
            RecurseSubdirectories = true,
            IgnoreInaccessible = true,
            AttributesToSkip = FileAttributes.Hidden,
            ReturnSpecialDirectories = false,
            MaxRecursionDepth = 32,
        };
        foreach (var path in Directory.EnumerateFiles(directory, "*", options))
        {
            if (isCandidate(Path.GetFileName(path)) && RegularFiles.IsRegular(path))
            {
                found.Add(path);
            }
        }

        found.Sort((a, b) => string.CompareOrdinal(Path.GetRelativePath(directory, a), Path.GetRelativePath(directory, b)));
        return found;
    }
}
