using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Imageimportd.Oci;

namespace Imageimportd.References;

/// <summary>
/// A parsed docker image reference, <c>domain/path[:tag][@digest]</c>, following the distribution
/// grammar that containerd vendors. <see cref="Normalize"/> gives the fully qualified form
/// (<c>alpine</c> → <c>docker.io/library/alpine:latest</c>) that containerd's importer writes.
/// </summary>
public sealed partial record ImageReference(string Domain, string Path, string? Tag, Digest? Digest)
{
    private const int NameMaxLength = 255;
    private const string DefaultDomain = "docker.io";
    private const string LegacyDefaultDomain = "index.docker.io";

    /// <summary><c>domain/path</c>, without tag or digest.</summary>
    public string Repository => Domain + "/" + Path;

    /// <summary>
    /// Parses and normalises a reference as containerd's <c>ParseDockerRef</c> does: docker.io and library/ are
    /// added, a missing tag becomes <c>latest</c>, and a reference with both tag and digest keeps the digest only.
    /// </summary>
    public static ImageReference Normalize(string reference)
    {
        if (!TryNormalize(reference, out var parsed, out var error))
        {
            throw new FormatException(error);
        }

        return parsed;
    }

    public static bool TryNormalize(string? reference, [NotNullWhen(true)] out ImageReference? parsed, [NotNullWhen(false)] out string? error)
    {
        parsed = null;
        if (string.IsNullOrEmpty(reference))
        {
            error = "invalid reference format: empty reference";
            return false;
        }

        if (AnchoredIdentifier().IsMatch(reference))
        {
            error = $"invalid repository name ({reference}), cannot specify 64-byte hexadecimal strings";
            return false;
        }

        var (domain, remainder) = SplitDockerDomain(reference);
        var tagSep = remainder.IndexOf(':', StringComparison.Ordinal);
        var remoteName = tagSep > -1 ? remainder[..tagSep] : remainder;
        if (!string.Equals(remoteName.ToLowerInvariant(), remoteName, StringComparison.Ordinal))
        {
            error = $"invalid reference format: repository name must be lowercase: \"{reference}\"";
            return false;
        }

        if (!TryParseQualified(domain + "/" + remainder, out parsed, out error))
        {
            return false;
        }

        if (parsed.Digest is not null)
        {
            parsed = parsed with { Tag = null };
        }
        else if (parsed.Tag is null)
        {
            parsed = parsed with { Tag = "latest" };
        }

        return true;
    }

    /// <summary>True when <paramref name="refName"/> names a repository (contains '/', ':' or '@'), not just a tag.</summary>
    public static bool IsFullReference(string refName) => refName.AsSpan().IndexOfAny('/', ':', '@') >= 0;

    /// <summary>A valid tag on its own (as an OCI <c>org.opencontainers.image.ref.name</c> may hold).</summary>
    public static bool IsValidTag(string tag) => AnchoredTag().IsMatch(tag);

    /// <summary>The OCI ref name containerd derives from a full reference: the tag, or <c>@digest</c>.</summary>
    public string OciRefName => Digest is { } d ? "@" + d.Value : Tag ?? "";

    /// <summary>The digest form of this repository: <c>domain/path@digest</c>.</summary>
    public ImageReference WithDigestOnly(Digest digest) => this with { Tag = null, Digest = digest };

    public override string ToString()
    {
        var s = Repository;
        if (Tag is not null)
        {
            s += ":" + Tag;
        }

        if (Digest is { } d)
        {
            s += "@" + d.Value;
        }

        return s;
    }

    private static (string Domain, string Remainder) SplitDockerDomain(string name)
    {
        string domain, remainder;
        var i = name.IndexOf('/', StringComparison.Ordinal);
        if (i == -1 || (name.AsSpan(0, i).IndexOfAny('.', ':') < 0 && name[..i] != "localhost"))
        {
            (domain, remainder) = (DefaultDomain, name);
        }
        else
        {
            (domain, remainder) = (name[..i], name[(i + 1)..]);
        }

        if (domain == LegacyDefaultDomain)
        {
            domain = DefaultDomain;
        }

        if (domain == DefaultDomain && !remainder.Contains('/', StringComparison.Ordinal))
        {
            remainder = "library/" + remainder;
        }

        return (domain, remainder);
    }

    private static bool TryParseQualified(string s, [NotNullWhen(true)] out ImageReference? parsed, [NotNullWhen(false)] out string? error)
    {
        parsed = null;
        var m = ReferenceGrammar().Match(s);
        if (!m.Success)
        {
            error = $"invalid reference format: \"{s}\"";
            return false;
        }

        var name = m.Groups["name"].Value;
        if (name.Length > NameMaxLength)
        {
            error = $"repository name must not be more than {NameMaxLength} characters: \"{s}\"";
            return false;
        }

        Digest? digest = null;
        if (m.Groups["digest"].Success)
        {
            if (!Oci.Digest.TryParse(m.Groups["digest"].Value, out var d))
            {
                error = $"invalid digest in reference \"{s}\"";
                return false;
            }

            digest = d;
        }

        var slash = name.IndexOf('/', StringComparison.Ordinal);
        parsed = new ImageReference(name[..slash], name[(slash + 1)..], m.Groups["tag"].Success ? m.Groups["tag"].Value : null, digest);
        error = null;
        return true;
    }

    // The distribution reference grammar: a domain, path components, optional tag and digest. The dash separator is
    // [-]+ rather than the grammar's [-]*: the same language, without the empty alternative that makes .NET's
    // backtracking engine exponential on long invalid names.
    [GeneratedRegex(@"^(?<name>(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*)*)(?::(?<tag>[\w][\w.-]{0,127}))?(?:@(?<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex ReferenceGrammar();

    [GeneratedRegex("^[a-f0-9]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex AnchoredIdentifier();

    [GeneratedRegex(@"^[\w][\w.-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex AnchoredTag();
}
