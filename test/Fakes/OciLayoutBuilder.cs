using Imageimportd.Oci;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// Writes an OCI image layout as a tar: <c>oci-layout</c>, <c>index.json</c> and <c>blobs/sha256/&lt;hex&gt;</c>, with any
/// number of root entries (images or nested indexes, named by annotations or not), blobs left out on purpose, and
/// optionally Docker 25's extra <c>manifest.json</c>.
/// </summary>
public sealed class OciLayoutBuilder
{
    private readonly List<Descriptor> _entries = [];
    private readonly List<KeyValuePair<Digest, byte[]>> _blobs = [];
    private readonly HashSet<Digest> _omitted = [];
    private readonly List<(TestImage Image, string[] Tags)> _docker = [];
    private string? _layoutVersion = "1.0.0";

    /// <summary>Prefix of every entry name, e.g. <c>./</c>.</summary>
    public string Prefix { get; init; } = "";

    /// <summary>Write <c>index.json</c> and <c>oci-layout</c> after the blobs instead of before.</summary>
    public bool MetadataLast { get; init; }

    /// <summary>A root entry with the blobs below it.</summary>
    public OciLayoutBuilder Add(Descriptor entry, IEnumerable<KeyValuePair<Digest, byte[]>> blobs)
    {
        _entries.Add(entry);
        foreach (var blob in blobs)
        {
            if (!_blobs.Any(b => b.Key == blob.Key))
            {
                _blobs.Add(blob);
            }
        }

        return this;
    }

    /// <summary>An image as a root entry, named by the given annotations (none when both are null).</summary>
    public OciLayoutBuilder Add(TestImage image, string? refName = null, string? imageName = null, bool withPlatform = false)
    {
        var descriptor = withPlatform ? image.PlatformDescriptor : image.ManifestDescriptor;
        return Add(Named(descriptor, refName, imageName), image.Blobs);
    }

    /// <summary>An index (multi-platform image) as a root entry.</summary>
    public OciLayoutBuilder Add(TestIndex index, string? refName = null, string? imageName = null) =>
        Add(Named(index.Descriptor, refName, imageName), index.Blobs);

    /// <summary>Leaves a blob out of the archive (as a single-platform save of a multi-platform image does).</summary>
    public OciLayoutBuilder Omit(Digest digest)
    {
        _omitted.Add(digest);
        return this;
    }

    /// <summary>The <c>imageLayoutVersion</c> to write; null writes no <c>oci-layout</c> file at all.</summary>
    public OciLayoutBuilder LayoutVersion(string? version)
    {
        _layoutVersion = version;
        return this;
    }

    /// <summary>Adds Docker 25's <c>manifest.json</c> entry for an image whose blobs the layout holds.</summary>
    public OciLayoutBuilder WithDockerManifest(TestImage image, params string[] repoTags)
    {
        _docker.Add((image, repoTags));
        return this;
    }

    /// <summary>The <c>index.json</c> document.</summary>
    public byte[] IndexJson() => ImageBuilder.IndexBytes(_entries);

    public byte[] Build()
    {
        using var tar = new TarBuilder();
        if (!MetadataLast)
        {
            WriteMetadata(tar);
        }

        tar.Directory(Prefix + "blobs");
        tar.Directory(Prefix + "blobs/sha256");
        foreach (var (digest, bytes) in _blobs)
        {
            if (!_omitted.Contains(digest))
            {
                tar.File(Prefix + BlobPath(digest), bytes);
            }
        }

        if (_docker.Count > 0)
        {
            tar.File(Prefix + "manifest.json", DockerManifestJson());
            tar.File(Prefix + "repositories", DockerArchiveBuilder.Repositories(_docker));
        }

        if (MetadataLast)
        {
            WriteMetadata(tar);
        }

        return tar.ToArray();
    }

    public static string BlobPath(Digest digest) => $"blobs/{digest.Algorithm}/{digest.Hex}";

    private void WriteMetadata(TarBuilder tar)
    {
        if (_layoutVersion is not null)
        {
            tar.File(Prefix + "oci-layout", $"{{\"imageLayoutVersion\":\"{_layoutVersion}\"}}");
        }

        tar.File(Prefix + "index.json", IndexJson());
    }

    private byte[] DockerManifestJson() => ImageBuilder.Json(w =>
    {
        w.WriteStartArray();
        foreach (var (image, tags) in _docker)
        {
            w.WriteStartObject();
            w.WriteString("Config", BlobPath(image.ConfigDigest));
            w.WriteStartArray("RepoTags");
            foreach (var tag in tags)
            {
                w.WriteStringValue(tag);
            }

            w.WriteEndArray();
            w.WriteStartArray("Layers");
            foreach (var layer in image.Layers)
            {
                w.WriteStringValue(BlobPath(layer.BlobDigest));
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    });

    private static Descriptor Named(Descriptor descriptor, string? refName, string? imageName) =>
        refName is null && imageName is null ? descriptor : descriptor with { Annotations = ImageBuilder.Names(imageName, refName) };
}
