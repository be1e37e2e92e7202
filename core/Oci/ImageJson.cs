using System.Text.Json;

namespace Imageimportd.Oci;

/// <summary>An image index (OCI index or Docker manifest list).</summary>
public sealed record ImageIndex(string? MediaType, IReadOnlyList<Descriptor> Manifests);

/// <summary>An image manifest (OCI or Docker schema 2).</summary>
public sealed record ImageManifest(string? MediaType, Descriptor Config, IReadOnlyList<Descriptor> Layers);

/// <summary>The parts of an image config the importer needs: its platform and the layers' diff IDs.</summary>
public sealed record ImageConfig(Platform Platform, IReadOnlyList<Digest> DiffIds);

/// <summary>One entry of a docker archive's <c>manifest.json</c>.</summary>
public sealed record DockerManifestEntry(string Config, IReadOnlyList<string> RepoTags, IReadOnlyList<string> Layers);

/// <summary>
/// Parses the image JSON documents found in archives and content stores. Inputs are untrusted:
/// callers bound their size, parsing never reflects over types, and any shape error is an
/// <see cref="InvalidDataException"/> that says which document and which field.
/// </summary>
public static class ImageJson
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64, AllowTrailingCommas = false };

    public static ImageIndex ParseIndex(ReadOnlyMemory<byte> json, string what)
    {
        using var doc = Open(json, what);
        var root = RequireObject(doc.RootElement, what);
        var manifests = new List<Descriptor>();
        if (TryGet(root, "manifests", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"{what}: \"manifests\" is not an array");
            }

            foreach (var item in list.EnumerateArray())
            {
                manifests.Add(ParseDescriptor(item, what + " manifests[]"));
            }
        }

        return new ImageIndex(GetString(root, "mediaType"), manifests);
    }

    public static ImageManifest ParseManifest(ReadOnlyMemory<byte> json, string what)
    {
        using var doc = Open(json, what);
        var root = RequireObject(doc.RootElement, what);
        if (!TryGet(root, "config", out var config))
        {
            throw new InvalidDataException($"{what}: missing \"config\"");
        }

        var layers = new List<Descriptor>();
        if (TryGet(root, "layers", out var list) && list.ValueKind != JsonValueKind.Null)
        {
            if (list.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"{what}: \"layers\" is not an array");
            }

            foreach (var item in list.EnumerateArray())
            {
                layers.Add(ParseDescriptor(item, what + " layers[]"));
            }
        }

        return new ImageManifest(GetString(root, "mediaType"), ParseDescriptor(config, what + " config"), layers);
    }

    public static ImageConfig ParseConfig(ReadOnlyMemory<byte> json, string what)
    {
        using var doc = Open(json, what);
        var root = RequireObject(doc.RootElement, what);
        var diffIds = new List<Digest>();
        if (TryGet(root, "rootfs", out var rootfs) && rootfs.ValueKind == JsonValueKind.Object
            && TryGet(rootfs, "diff_ids", out var ids) && ids.ValueKind == JsonValueKind.Array)
        {
            foreach (var id in ids.EnumerateArray())
            {
                diffIds.Add(ParseDigest(id.ValueKind == JsonValueKind.String ? id.GetString() : null, what + " rootfs.diff_ids[]"));
            }
        }

        // containerd's images.Platforms reads only os and architecture from a config.
        var platform = new Platform(GetString(root, "os") ?? "", GetString(root, "architecture") ?? "", GetString(root, "variant"), GetString(root, "os.version"));
        return new ImageConfig(platform, diffIds);
    }

    /// <summary>
    /// Parses <c>manifest.json</c>. Go decodes it into a struct without tags, so keys match case-insensitively.
    /// Returns null for a JSON <c>null</c> document, as Go would leave the slice nil.
    /// </summary>
    public static IReadOnlyList<DockerManifestEntry>? ParseDockerManifests(ReadOnlyMemory<byte> json, string what)
    {
        using var doc = Open(json, what);
        if (doc.RootElement.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (doc.RootElement.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"{what}: expected an array");
        }

        var entries = new List<DockerManifestEntry>();
        foreach (var item in doc.RootElement.EnumerateArray())
        {
            var obj = RequireObject(item, what + "[]");
            string config = "";
            var tags = new List<string>();
            var layers = new List<string>();
            foreach (var prop in obj.EnumerateObject())
            {
                if (prop.NameEquals("Config") || string.Equals(prop.Name, "config", StringComparison.OrdinalIgnoreCase))
                {
                    config = prop.Value.ValueKind == JsonValueKind.String ? prop.Value.GetString()! : throw new InvalidDataException($"{what}: Config is not a string");
                }
                else if (string.Equals(prop.Name, "RepoTags", StringComparison.OrdinalIgnoreCase))
                {
                    // Go decodes a repeated key over the earlier value: the last one wins.
                    tags.Clear();
                    ReadStrings(prop.Value, tags, what + " RepoTags");
                }
                else if (string.Equals(prop.Name, "Layers", StringComparison.OrdinalIgnoreCase))
                {
                    layers.Clear();
                    ReadStrings(prop.Value, layers, what + " Layers");
                }
            }

            entries.Add(new DockerManifestEntry(config, tags, layers));
        }

        return entries;
    }

    /// <summary>Reads <c>oci-layout</c>'s imageLayoutVersion ("" when absent).</summary>
    public static string ParseLayoutVersion(ReadOnlyMemory<byte> json, string what)
    {
        using var doc = Open(json, what);
        var root = RequireObject(doc.RootElement, what);
        return GetString(root, "imageLayoutVersion") ?? "";
    }

    /// <summary>Reads just the mediaType field of a manifest or index, for blobs whose type a parent did not say.</summary>
    public static string? PeekMediaType(ReadOnlyMemory<byte> json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, Options);
            return doc.RootElement.ValueKind == JsonValueKind.Object ? GetString(doc.RootElement, "mediaType") : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static Descriptor ParseDescriptor(JsonElement e, string what)
    {
        var obj = RequireObject(e, what);
        var digest = ParseDigest(GetString(obj, "digest"), what + " digest");
        long size = 0;
        if (TryGet(obj, "size", out var sizeElement))
        {
            if (sizeElement.ValueKind != JsonValueKind.Number || !sizeElement.TryGetInt64(out size) || size < 0)
            {
                throw new InvalidDataException($"{what}: invalid size");
            }
        }

        Dictionary<string, string>? annotations = null;
        if (TryGet(obj, "annotations", out var ann) && ann.ValueKind == JsonValueKind.Object)
        {
            annotations = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in ann.EnumerateObject())
            {
                if (prop.Value.ValueKind == JsonValueKind.String)
                {
                    annotations[prop.Name] = prop.Value.GetString()!;
                }
            }
        }

        Platform? platform = null;
        if (TryGet(obj, "platform", out var p) && p.ValueKind == JsonValueKind.Object)
        {
            List<string>? features = null;
            if (TryGet(p, "os.features", out var f) && f.ValueKind == JsonValueKind.Array)
            {
                features = [];
                ReadStrings(f, features, what + " os.features");
            }

            platform = new Platform(GetString(p, "os") ?? "", GetString(p, "architecture") ?? "", GetString(p, "variant"), GetString(p, "os.version"), features);
        }

        List<string>? urls = null;
        if (TryGet(obj, "urls", out var u) && u.ValueKind == JsonValueKind.Array)
        {
            urls = [];
            ReadStrings(u, urls, what + " urls");
        }

        return new Descriptor(GetString(obj, "mediaType") ?? "", digest, size)
        {
            Annotations = annotations,
            Platform = platform,
            Urls = urls,
            ArtifactType = GetString(obj, "artifactType"),
        };
    }

    private static Digest ParseDigest(string? value, string what) =>
        Digest.TryParse(value, out var d) ? d : throw new InvalidDataException($"{what}: invalid digest \"{value}\"");

    private static JsonDocument Open(ReadOnlyMemory<byte> json, string what)
    {
        try
        {
            return JsonDocument.Parse(json, Options);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{what}: invalid JSON: {ex.Message}", ex);
        }
    }

    private static JsonElement RequireObject(JsonElement e, string what) =>
        e.ValueKind == JsonValueKind.Object ? e : throw new InvalidDataException($"{what}: expected a JSON object");

    private static bool TryGet(JsonElement obj, string name, out JsonElement value) => obj.TryGetProperty(name, out value);

    private static string? GetString(JsonElement obj, string name) =>
        obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static void ReadStrings(JsonElement array, List<string> into, string what)
    {
        if (array.ValueKind == JsonValueKind.Null)
        {
            return;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidDataException($"{what}: expected an array of strings");
        }

        foreach (var item in array.EnumerateArray())
        {
            into.Add(item.ValueKind == JsonValueKind.String ? item.GetString()! : throw new InvalidDataException($"{what}: expected strings"));
        }
    }
}
