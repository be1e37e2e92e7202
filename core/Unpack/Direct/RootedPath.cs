namespace Imageimportd.Unpack.Direct;

/// <summary>
/// Resolves a name inside a root directory as if the root were <c>/</c>, the way containerd's applier resolves entry
/// names (continuity's <c>fs.RootPath</c>): component by component, <c>..</c> stops at the root, and every symlink met
/// on the way (planted by an earlier entry or layer) is followed with absolute targets taken from the root. So the
/// result is always the root or a path under it, whatever the name and the links say.
/// </summary>
internal static class RootedPath
{
    /// <summary>containerd's limit on links followed for one name; more is a cycle or an attack.</summary>
    public const int MaxLinks = 255;

    /// <summary>
    /// The host path for <paramref name="name"/>, all components resolved (the last one too, when it is a link).
    /// Components that do not exist yet are taken as they are.
    /// </summary>
    public static string Resolve(string root, string name)
    {
        var resolved = new List<string>();
        var pending = new Stack<string>();
        Push(pending, name);
        var links = 0;
        while (pending.TryPop(out var part))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                if (resolved.Count > 0)
                {
                    resolved.RemoveAt(resolved.Count - 1);
                }

                continue;
            }

            if (PosixFs.ReadLink(Join(root, resolved, part)) is { } target)
            {
                if (++links > MaxLinks)
                {
                    throw new InvalidDataException($"too many links resolving {name}");
                }

                if (target.StartsWith('/'))
                {
                    resolved.Clear();
                }

                Push(pending, target);
                continue;
            }

            resolved.Add(part);
        }

        return resolved.Count == 0 ? root : Join(root, resolved, null);
    }

    /// <summary>The cleaned name split into its parent directory (resolved) and its last component (not followed).</summary>
    public static (string Parent, string Base) ResolveParent(string root, string name)
    {
        var clean = Archive.GoPath.Clean("/" + name);
        var slash = clean.LastIndexOf('/');
        var parent = Resolve(root, clean[..slash]);
        return (parent, clean[(slash + 1)..]);
    }

    /// <summary>True when <paramref name="path"/> is <paramref name="root"/> or under it.</summary>
    public static bool IsInside(string root, string path) =>
        path == root || path.StartsWith(root.EndsWith('/') ? root : root + "/", StringComparison.Ordinal);

    private static void Push(Stack<string> pending, string path)
    {
        var parts = path.Split('/');
        for (var i = parts.Length - 1; i >= 0; i--)
        {
            pending.Push(parts[i]);
        }
    }

    private static string Join(string root, List<string> parts, string? last)
    {
        var joined = parts.Count == 0 ? root : root.TrimEnd('/') + "/" + string.Join('/', parts);
        return last is null ? joined : joined.TrimEnd('/') + "/" + last;
    }
}
