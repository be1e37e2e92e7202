using System.Text.RegularExpressions;

namespace Imageimportd.Tests.Harness;

/// <summary>Cleans up mounts a dead containerd leaves behind (overlay snapshots, tmpmounts) so its dir can be deleted.</summary>
public static partial class Mounts
{
    /// <summary>Mount points strictly below <paramref name="dir"/>, deepest first.</summary>
    public static IReadOnlyList<string> Under(string dir)
    {
        var prefix = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dir)) + "/";
        return File.ReadAllLines("/proc/mounts")
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 1)
            .Select(fields => Unescape(fields[1]))
            .Where(mountPoint => mountPoint.StartsWith(prefix, StringComparison.Ordinal))
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(mountPoint => mountPoint.Length)
            .ToList();
    }

    /// <summary>Unmounts everything below <paramref name="dir"/>; lazily if a plain umount fails. Returns what stays mounted.</summary>
    public static async Task<IReadOnlyList<string>> UnmountUnderAsync(string dir, CancellationToken cancellationToken = default)
    {
        // A mount can be stacked several times on one point; a few passes clear those.
        for (var pass = 0; pass < 3; pass++)
        {
            var mounts = Under(dir);
            if (mounts.Count == 0)
            {
                return mounts;
            }

            foreach (var mountPoint in mounts)
            {
                var result = await Tools.RunUncheckedAsync("umount", [mountPoint], TimeSpan.FromSeconds(30), cancellationToken);
                if (!result.Succeeded)
                {
                    await Tools.RunUncheckedAsync("umount", ["-l", mountPoint], TimeSpan.FromSeconds(30), cancellationToken);
                }
            }
        }

        return Under(dir);
    }

    // /proc/mounts escapes space, tab, newline and backslash as \ooo.
    private static string Unescape(string field) =>
        OctalEscape().Replace(field, m => ((char)Convert.ToInt32(m.Value[1..], 8)).ToString());

    [GeneratedRegex(@"\\[0-7]{3}")]
    private static partial Regex OctalEscape();
}
