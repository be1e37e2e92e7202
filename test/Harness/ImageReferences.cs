namespace Imageimportd.Tests.Harness;

/// <summary>The little of Docker reference normalisation tests need to predict containerd's image names.</summary>
public static class ImageReferences
{
    /// <summary>"alpine" -> "docker.io/library/alpine:latest", "foo/bar:1" -> "docker.io/foo/bar:1"; full names unchanged.</summary>
    public static string Normalize(string reference)
    {
        var at = reference.IndexOf('@', StringComparison.Ordinal);
        var nameAndTag = at >= 0 ? reference[..at] : reference;
        var digest = at >= 0 ? reference[at..] : string.Empty;

        var lastSlash = nameAndTag.LastIndexOf('/');
        var colon = nameAndTag.LastIndexOf(':');
        var hasTag = colon > lastSlash;
        var name = hasTag ? nameAndTag[..colon] : nameAndTag;
        var tag = hasTag ? nameAndTag[colon..] : (digest.Length == 0 ? ":latest" : string.Empty);

        var firstSlash = name.IndexOf('/', StringComparison.Ordinal);
        var first = firstSlash >= 0 ? name[..firstSlash] : string.Empty;
        var hasDomain = first.Length > 0 && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost");
        if (!hasDomain)
        {
            name = (firstSlash >= 0 ? "docker.io/" : "docker.io/library/") + name;
        }

        return name + tag + digest;
    }

    /// <summary>True if ctr/containerd treat the OCI ref name as a full reference rather than a bare tag.</summary>
    public static bool IsFullReference(string refName) => refName.AsSpan().IndexOfAny('/', ':', '@') >= 0;
}
