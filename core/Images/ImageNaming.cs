using Imageimportd.Oci;
using Imageimportd.References;

namespace Imageimportd.Images;

/// <summary>
/// Decides the names an index entry is imported under, as containerd's importer does with ctr's translators
/// (<c>archive.FilterRefPrefix</c> for <c>--base-name</c>, <c>archive.AddRefPrefix</c> otherwise): the
/// <c>io.containerd.image.name</c> annotation as is; else an OCI ref name that is a full reference (it holds
/// '/', ':' or '@') as is, except that with a base name only full references under it are kept; else a tag-only ref
/// name under the base name, or under the tag prefix when no base name is given.
/// </summary>
public static class ImageNaming
{
    /// <summary>Returns the image name, or null with a reason when the entry is not imported under any name.</summary>
    /// <param name="baseName">ctr's <c>--base-name</c>: tag-only names go under it, and full ref names outside it are dropped.</param>
    /// <param name="tagPrefix">Tag-only names go under it when there is no base name; full ref names are all kept.</param>
    public static string? NameOf(Descriptor entry, string? baseName, string? tagPrefix, out string? whyNot)
    {
        whyNot = null;
        var name = entry.Annotation(ImageLabels.ContainerdImageName);
        if (!string.IsNullOrEmpty(name))
        {
            // containerd's imageName never passes this annotation through the translator, so no filter applies.
            return name;
        }

        var refName = entry.Annotation(ImageLabels.OciRefName);
        if (string.IsNullOrEmpty(refName))
        {
            whyNot = $"manifest {entry.Digest} has no name annotation";
            return null;
        }

        if (ImageReference.IsFullReference(refName))
        {
            if (!string.IsNullOrEmpty(baseName) && !IsUnder(refName, baseName))
            {
                whyNot = $"manifest {entry.Digest} is named \"{refName}\", which is not under --base-name {baseName}; skipped as ctr skips it";
                return null;
            }

            return refName;
        }

        var prefix = !string.IsNullOrEmpty(baseName) ? baseName : tagPrefix;
        if (!string.IsNullOrEmpty(prefix))
        {
            return prefix + ":" + refName;
        }

        whyNot = $"manifest {entry.Digest} is named only by the tag \"{refName}\"; pass --base-name or --tag-prefix to import it";
        return null;
    }

    /// <summary>containerd's isImagePrefix: <paramref name="name"/> is the prefix itself, or the prefix then '/', ':' or '@'.</summary>
    public static bool IsUnder(string name, string prefix) =>
        name.StartsWith(prefix, StringComparison.Ordinal) && (name.Length == prefix.Length || name[prefix.Length] is '/' or ':' or '@');

    /// <summary>The digest reference (<c>repo@sha256:…</c>) added beside a tagged name, or null when it has none.</summary>
    public static string? DigestNameOf(string name, Digest target)
    {
        if (!ImageReference.TryNormalize(name, out var reference, out _) || reference.Digest is not null)
        {
            return null;
        }

        return reference.WithDigestOnly(target).ToString();
    }
}
