namespace Imageimportd.Images;

/// <summary>
/// The names a walked archive's images get: each complete root entry by <see cref="ImageNaming.NameOf"/>, plus its
/// <c>repo@digest</c> digest name; an entry without a name or not complete becomes a warning instead.
/// </summary>
public static class ImageNames
{
    public static List<(string Name, WalkedImage Entry)> For(WalkResult walk, string? baseName, string? tagPrefix, List<string> warnings)
    {
        var records = new List<(string, WalkedImage)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in walk.Entries)
        {
            var name = ImageNaming.NameOf(entry.Target, baseName, tagPrefix, out var whyNot);
            if (name is null)
            {
                warnings.Add(whyNot!);
                continue;
            }

            if (!entry.Complete)
            {
                warnings.Add(entry.Missing.Count == 0
                    ? $"{name}: skipped, it has no manifest for any platform"
                    : $"{name}: skipped, the archive lacks {entry.Missing.Count} blob(s), e.g. {entry.Missing[0]}");
                continue;
            }

            if (seen.Add(name))
            {
                records.Add((name, entry));
            }

            if (ImageNaming.DigestNameOf(name, entry.Target.Digest) is { } digestName && seen.Add(digestName))
            {
                records.Add((digestName, entry));
            }
        }

        return records;
    }
}
