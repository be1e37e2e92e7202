using System.Text.Json;
using Imageimportd.Oci;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// Writes a legacy <c>docker save</c> archive: a directory per layer (<c>&lt;id&gt;/VERSION</c>, <c>json</c>,
/// <c>layer.tar</c>), the config as <c>&lt;hex&gt;.json</c>, <c>manifest.json</c> with RepoTags and <c>repositories</c>.
/// As docker does, a layer whose bytes were already saved under another directory becomes a symlink to the first copy.
/// </summary>
public sealed class DockerArchiveBuilder
{
    private readonly List<(TestImage Image, string[] Tags)> _images = [];

    /// <summary>Save repeated layer bytes as a symlink (docker's behaviour) instead of a second copy.</summary>
    public bool SymlinkDuplicateLayers { get; init; } = true;

    /// <summary>Prefix of every entry name, e.g. <c>./</c> as <c>tar -C dir -c .</c> writes.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>Write <c>manifest.json</c> and <c>repositories</c> before the layers instead of after.</summary>
    public bool ManifestFirst { get; init; }

    public DockerArchiveBuilder Add(TestImage image, params string[] repoTags)
    {
        _images.Add((image, repoTags));
        return this;
    }

    /// <summary>The config's path inside the archive (as <c>manifest.json</c> names it).</summary>
    public static string ConfigPath(TestImage image) => image.ConfigDigest.Hex + ".json";

    /// <summary>The layer paths <c>manifest.json</c> lists for the image, in order.</summary>
    public static IReadOnlyList<string> LayerPaths(TestImage image) => [.. LayerIds(image).Select(id => id + "/layer.tar")];

    public byte[] Build()
    {
        using var tar = new TarBuilder();
        if (ManifestFirst)
        {
            WriteMetadata(tar);
        }

        var dirs = new HashSet<string>(StringComparer.Ordinal);
        var firstCopy = new Dictionary<Digest, string>();
        foreach (var (image, _) in _images)
        {
            var ids = LayerIds(image);
            for (var i = 0; i < ids.Count; i++)
            {
                var id = ids[i];
                if (!dirs.Add(id))
                {
                    continue;
                }

                var layer = image.Layers[i];
                tar.Directory(Prefix + id);
                tar.File(Prefix + id + "/VERSION", "1.0");
                tar.File(Prefix + id + "/json", $"{{\"id\":\"{id}\"}}");
                var path = id + "/layer.tar";
                if (SymlinkDuplicateLayers && firstCopy.TryGetValue(layer.BlobDigest, out var first))
                {
                    tar.Symlink(Prefix + path, "../" + first);
                }
                else
                {
                    tar.File(Prefix + path, layer.Blob);
                    firstCopy.TryAdd(layer.BlobDigest, path);
                }
            }

            if (dirs.Add(ConfigPath(image)))
            {
                tar.File(Prefix + ConfigPath(image), image.Config);
            }
        }

        if (!ManifestFirst)
        {
            WriteMetadata(tar);
        }

        return tar.ToArray();
    }

    /// <summary>The <c>manifest.json</c> document.</summary>
    public byte[] ManifestJson() => ImageBuilder.Json(w =>
    {
        w.WriteStartArray();
        foreach (var (image, tags) in _images)
        {
            w.WriteStartObject();
            w.WriteString("Config", ConfigPath(image));
            if (tags.Length == 0)
            {
                w.WriteNull("RepoTags");
            }
            else
            {
                w.WriteStartArray("RepoTags");
                foreach (var tag in tags)
                {
                    w.WriteStringValue(tag);
                }

                w.WriteEndArray();
            }

            w.WriteStartArray("Layers");
            foreach (var path in LayerPaths(image))
            {
                w.WriteStringValue(path);
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private void WriteMetadata(TarBuilder tar)
    {
        tar.File(Prefix + "manifest.json", ManifestJson());
        tar.File(Prefix + "repositories", Repositories(_images));
    }

    internal static byte[] Repositories(IEnumerable<(TestImage Image, string[] Tags)> images) => ImageBuilder.Json(w =>
    {
        w.WriteStartObject();
        foreach (var group in images
            .SelectMany(i => i.Tags.Select(t => (Tag: t, Top: LayerIds(i.Image) is { Count: > 0 } ids ? ids[^1] : "")))
            .GroupBy(t => SplitTag(t.Tag).Repository, StringComparer.Ordinal))
        {
            w.WriteStartObject(group.Key);
            foreach (var (tag, top) in group)
            {
                w.WriteString(SplitTag(tag).Tag, top);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    });

    /// <summary>Docker's v1 layer IDs: each depends on its parent's ID and diff ID, the top one also on the config.</summary>
    private static List<string> LayerIds(TestImage image)
    {
        var ids = new List<string>(image.Layers.Count);
        var parent = "";
        for (var i = 0; i < image.Layers.Count; i++)
        {
            var top = i == image.Layers.Count - 1 ? " " + image.ConfigDigest.Value : "";
            parent = Digest.FromString(parent + " " + image.Layers[i].DiffId.Value + top).Hex;
            ids.Add(parent);
        }

        return ids;
    }

    private static (string Repository, string Tag) SplitTag(string repoTag)
    {
        var colon = repoTag.LastIndexOf(':');
        return colon > repoTag.LastIndexOf('/') ? (repoTag[..colon], repoTag[(colon + 1)..]) : (repoTag, "latest");
    }
}
