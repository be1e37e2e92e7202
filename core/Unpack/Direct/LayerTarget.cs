namespace Imageimportd.Unpack.Direct;

/// <summary>
/// Where a layer is written: the directory, how whiteouts are expressed there, and the lower directories (top first)
/// whose directory attributes a parent created implicitly copies, as containerd's overlay applier does.
/// </summary>
public sealed record LayerTarget(string Root, WhiteoutStyle Whiteouts, IReadOnlyList<string> Lowers)
{
    /// <summary>
    /// The target for a snapshot's mounts, as containerd's applier picks it: one overlay mount with an upperdir is
    /// written there (overlay whiteouts); one bind mount is written into its source. Anything else (several mounts, no
    /// upperdir, another type) returns null with the reason: it needs a real mount, which the Diff service does.
    /// </summary>
    public static LayerTarget? FromMounts(IReadOnlyList<Mount> mounts, out string reason)
    {
        if (mounts.Count != 1)
        {
            reason = $"{mounts.Count} mounts";
            return null;
        }

        var m = mounts[0];
        if (m.Type == "overlay")
        {
            string? upper = null;
            IReadOnlyList<string> lowers = [];
            foreach (var o in m.Options)
            {
                if (o.StartsWith("upperdir=", StringComparison.Ordinal))
                {
                    upper = o["upperdir=".Length..];
                }
                else if (o.StartsWith("lowerdir=", StringComparison.Ordinal))
                {
                    lowers = o["lowerdir=".Length..].Split(':');
                }
            }

            reason = upper is null ? "overlay mount without upperdir" : "overlay upperdir";
            return upper is null ? null : new LayerTarget(upper, WhiteoutStyle.Overlay, lowers);
        }

        if (m.Type == "bind" || m.Options.Contains("bind") || m.Options.Contains("rbind"))
        {
            reason = "bind mount";
            return new LayerTarget(m.Source, WhiteoutStyle.Remove, []);
        }

        reason = $"mount type {m.Type}";
        return null;
    }
}
