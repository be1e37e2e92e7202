using Imageimportd.Oci;
using Imageimportd.References;

namespace Imageimportd.Images;

/// <summary>
/// Decides the names an index entry is imported under, as containerd's importer does: the
/// <c>io.containerd.image.name</c> annotation as is; else an OCI ref name that is a full reference as is;
/// else a tag-only ref name under the base name, when one was given.
/// </summary>
public static class ImageNaming
{
    /// <summary>Returns the image name, or null with a reason when the entry cannot be named.</summary>
    public static string? NameOf(Descriptor entry, string? baseName, out string? whyNot)
    {
        whyNot = null;
        var name = entry.Annotation(ImageLabels.ContainerdImageName);
        if (!string.IsNullOrEmpty(name))
        {
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
            return refName;
        }

        if (!string.IsNullOrEmpty(baseName))
        {
            return baseName + ":" + refName;
        }

        whyNot = $"manifest {entry.Digest} is named only by the tag \"{refName}\"; pass --base-name to import it";
        return null;
    }

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
