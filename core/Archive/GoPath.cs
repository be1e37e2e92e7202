using System.Text;

namespace Imageimportd.Archive;

/// <summary>Go's <c>path.Clean</c>, <c>path.Dir</c> and <c>path.Join</c>: entry names are keyed exactly as containerd keys them.</summary>
internal static class GoPath
{
    public static string Clean(string path)
    {
        if (IsClean(path))
        {
            // Most names are clean already (every entry of a layer goes through here): no copy, as Go's lazy buffer.
            return path;
        }

        if (path.Length > 1 && path[^1] == '/' && IsClean(path[..^1]))
        {
            return path[..^1]; // a directory entry's name
        }

        if (path.Length == 0)
        {
            return ".";
        }

        var rooted = path[0] == '/';
        var parts = new List<string>();
        foreach (var part in path.Split('/'))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (parts.Count > 0 && parts[^1] != "..")
                {
                    parts.RemoveAt(parts.Count - 1);
                }
                else if (!rooted)
                {
                    parts.Add("..");
                }

                continue;
            }

            parts.Add(part);
        }

        var sb = new StringBuilder(path.Length);
        if (rooted)
        {
            sb.Append('/');
        }

        sb.AppendJoin('/', parts);
        return sb.Length == 0 ? "." : sb.ToString();
    }

    /// <summary>True when <see cref="Clean"/> would return the path as it is: no empty, "." or ".." component, no trailing slash.</summary>
    private static bool IsClean(string path)
    {
        if (path == "/")
        {
            return true;
        }

        if (path.Length == 0 || path[^1] == '/')
        {
            return false;
        }

        var rest = path.AsSpan(path[0] == '/' ? 1 : 0);
        while (true)
        {
            var slash = rest.IndexOf('/');
            var part = slash < 0 ? rest : rest[..slash];
            if (part.Length == 0 || part is "." or "..")
            {
                return false;
            }

            if (slash < 0)
            {
                return true;
            }

            rest = rest[(slash + 1)..];
        }
    }

    public static string Dir(string path)
    {
        var slash = path.LastIndexOf('/');
        return Clean(slash < 0 ? "" : path[..(slash + 1)]);
    }

    public static string Join(string a, string b) =>
        a.Length == 0 && b.Length == 0 ? "" : a.Length == 0 ? Clean(b) : b.Length == 0 ? Clean(a) : Clean(a + "/" + b);
}
