using System.Globalization;
using System.Text;

namespace Imageimportd.Oci;

/// <summary>
/// Writes the manifest and index JSON that containerd's importer generates for docker archives, byte for byte:
/// Go's <c>encoding/json</c> field order, omitempty rules, sorted map keys and HTML-safe string escaping.
/// The image digest of a docker archive is the digest of these bytes, so any drift here changes image identity.
/// </summary>
public static class GoJson
{
    /// <summary>containerd's anonymous docker manifest struct: schemaVersion, mediaType, config, layers.</summary>
    public static byte[] DockerManifest(Descriptor config, IReadOnlyList<Descriptor> layers)
    {
        var sb = new StringBuilder(256 + (layers.Count * 160));
        sb.Append("{\"schemaVersion\":2,\"mediaType\":");
        AppendString(sb, MediaTypes.DockerManifest);
        sb.Append(",\"config\":");
        AppendDescriptor(sb, config);
        sb.Append(",\"layers\":");
        AppendDescriptors(sb, layers);
        sb.Append('}');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary><c>ocispec.Index</c> with only schemaVersion and manifests set (mediaType and annotations omitted).</summary>
    public static byte[] Index(IReadOnlyList<Descriptor>? manifests)
    {
        var sb = new StringBuilder(64 + ((manifests?.Count ?? 0) * 300));
        sb.Append("{\"schemaVersion\":2,\"manifests\":");
        AppendDescriptors(sb, manifests);
        sb.Append('}');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    private static void AppendDescriptors(StringBuilder sb, IReadOnlyList<Descriptor>? list)
    {
        // A nil Go slice marshals as null; containerd's importer only produces nil for an empty manifest.json.
        if (list is null || list.Count == 0)
        {
            sb.Append("null");
            return;
        }

        sb.Append('[');
        for (var i = 0; i < list.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            AppendDescriptor(sb, list[i]);
        }

        sb.Append(']');
    }

    internal static void AppendDescriptor(StringBuilder sb, Descriptor d)
    {
        sb.Append('{');
        var first = true;
        if (!string.IsNullOrEmpty(d.MediaType))
        {
            sb.Append("\"mediaType\":");
            AppendString(sb, d.MediaType);
            first = false;
        }

        sb.Append(first ? "\"digest\":" : ",\"digest\":");
        AppendString(sb, d.Digest.Value);
        sb.Append(",\"size\":").Append(d.Size.ToString(CultureInfo.InvariantCulture));
        if (d.Urls is { Count: > 0 } urls)
        {
            sb.Append(",\"urls\":[");
            for (var i = 0; i < urls.Count; i++)
            {
                if (i > 0)
                {
                    sb.Append(',');
                }

                AppendString(sb, urls[i]);
            }

            sb.Append(']');
        }

        if (d.Annotations is { Count: > 0 } annotations)
        {
            sb.Append(",\"annotations\":{");
            var keys = annotations.Keys.ToArray();
            Array.Sort(keys, CompareUtf8);
            for (var i = 0; i < keys.Length; i++)
            {
                if (i > 0)
                {
                    sb.Append(',');
                }

                AppendString(sb, keys[i]);
                sb.Append(':');
                AppendString(sb, annotations[keys[i]]);
            }

            sb.Append('}');
        }

        if (d.Platform is { } p)
        {
            sb.Append(",\"platform\":{\"architecture\":");
            AppendString(sb, p.Architecture);
            sb.Append(",\"os\":");
            AppendString(sb, p.Os);
            if (!string.IsNullOrEmpty(p.OsVersion))
            {
                sb.Append(",\"os.version\":");
                AppendString(sb, p.OsVersion);
            }

            if (p.OsFeatures is { Count: > 0 } features)
            {
                sb.Append(",\"os.features\":[");
                for (var i = 0; i < features.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    AppendString(sb, features[i]);
                }

                sb.Append(']');
            }

            if (!string.IsNullOrEmpty(p.Variant))
            {
                sb.Append(",\"variant\":");
                AppendString(sb, p.Variant);
            }

            sb.Append('}');
        }

        if (!string.IsNullOrEmpty(d.ArtifactType))
        {
            sb.Append(",\"artifactType\":");
            AppendString(sb, d.ArtifactType);
        }

        sb.Append('}');
    }

    /// <summary>Go sorts map keys by their UTF-8 bytes.</summary>
    private static int CompareUtf8(string a, string b)
    {
        var ab = Encoding.UTF8.GetBytes(a);
        var bb = Encoding.UTF8.GetBytes(b);
        return ab.AsSpan().SequenceCompareTo(bb);
    }

    /// <summary>Go's encodeState.string with escapeHTML on (the default of json.Marshal), as of Go 1.19.</summary>
    internal static void AppendString(StringBuilder sb, string s)
    {
        sb.Append('"');
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            switch (c)
            {
                case '"':
                    sb.Append("\\\"");
                    continue;
                case '\\':
                    sb.Append("\\\\");
                    continue;
                case '\n':
                    sb.Append("\\n");
                    continue;
                case '\r':
                    sb.Append("\\r");
                    continue;
                case '\t':
                    sb.Append("\\t");
                    continue;
                case '<' or '>' or '&' or '\u2028' or '\u2029':
                    sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    continue;
            }

            if (c < 0x20)
            {
                sb.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            }
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb.Append(c).Append(s[i + 1]);
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                // Invalid UTF-16 cannot round-trip to UTF-8; Go writes U+FFFD for invalid UTF-8.
                sb.Append("\\ufffd");
            }
            else
            {
                sb.Append(c);
            }
        }

        sb.Append('"');
    }

    internal static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length + 2);
        AppendString(sb, s);
        return sb.ToString();
    }
}
