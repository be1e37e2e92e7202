using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

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

    /// <summary>Whether <paramref name="pid"/> is a running imageimportd (not a recycled pid).</summary>
    public static bool IsImageimportd(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/comm").Trim() == "imageimportd";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// Removes the state files of daemons that died without removing their own (SIGKILL, a crash); returns their
    /// paths. A file that cannot be read or parsed is left alone: it may be one being replaced right now.
    /// </summary>
    public static IReadOnlyList<string> RemoveStale(string runtimeDirectory)
    {
        var removed = new List<string>();
        string[] files;
        try
        {
            files = Directory.GetFiles(runtimeDirectory, "status-*.json");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return removed;
        }

        foreach (var file in files)
        {
            try
            {
                using var state = JsonDocument.Parse(File.ReadAllBytes(file));
                if (state.RootElement.TryGetProperty("pid", out var pid) && pid.TryGetInt32(out var id) && !IsImageimportd(id))
                {
                    File.Delete(file);
                    removed.Add(file);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
            {
                // Left for a later start.
            }
        }

        return removed;
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
