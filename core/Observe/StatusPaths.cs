using System.Security.Cryptography;
using System.Text;

namespace Imageimportd.Observe;

/// <summary>
/// Where a daemon's state file is: <c>RUNTIME_DIR/status-HASH.json</c>, HASH from the images directory's real path,
/// so two daemons watching different directories never share a file and <c>status</c> finds the one it asks for
/// however the directory was spelled (relative, through a symlink).
/// </summary>
public static class StatusPaths
{
    public const string DefaultRuntimeDirectory = "/run/imageimportd";

    public const string RuntimeDirectoryVariable = "IMAGEIMPORTD_RUNTIME_DIR";

    public static string RuntimeDirectory(string? option) =>
        option is { Length: > 0 } ? option
        : Environment.GetEnvironmentVariable(RuntimeDirectoryVariable) is { Length: > 0 } env ? env
        : DefaultRuntimeDirectory;

    public static string StateFile(string runtimeDirectory, string imagesDirectory)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(RealPath(imagesDirectory)));
        return Path.Combine(runtimeDirectory, $"status-{Convert.ToHexStringLower(hash)[..16]}.json");
    }

    /// <summary>The absolute path with every symlink on the way resolved, as far as the path exists.</summary>
    public static string RealPath(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd('/');
        if (full.Length == 0)
        {
            return "/";
        }

        var parent = Path.GetDirectoryName(full);
        var resolvedParent = parent is null ? "/" : RealPath(parent);
        var joined = Path.Combine(resolvedParent, Path.GetFileName(full));
        try
        {
            var info = new FileInfo(joined);
            if (info.LinkTarget is { } target)
            {
                return RealPath(Path.IsPathRooted(target) ? target : Path.Combine(resolvedParent, target));
            }
        }
        catch (IOException)
        {
            // A loop or an unreadable link: the spelled path will do.
        }

        return joined;
    }
}
