using System.IO.Compression;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Imageimportd.Oci;

namespace Imageimportd.Tests.Fakes;

/// <summary>A layer: the tar of its files (whose sha256 is the diff ID) and the blob as stored (the tar, or its gzip).</summary>
public sealed record TestLayer(byte[] Tar, byte[] Blob)
{
    public Digest DiffId { get; } = Digest.FromBytes(Tar);

    public Digest BlobDigest { get; } = Digest.FromBytes(Blob);

    public bool Gzip => Blob.Length >= 2 && Blob[0] == 0x1f && Blob[1] == 0x8b;

    public string MediaType => Gzip ? MediaTypes.OciLayerGzip : MediaTypes.OciLayer;

    public Descriptor Descriptor => new(MediaType, BlobDigest, Blob.Length);
}

/// <summary>A single-platform image: layers, config JSON and OCI manifest JSON.</summary>
public sealed record TestImage(Platform Platform, IReadOnlyList<TestLayer> Layers, byte[] Config, byte[] Manifest)
{
    public Digest ConfigDigest { get; } = Digest.FromBytes(Config);

    public Digest ManifestDigest { get; } = Digest.FromBytes(Manifest);

    public Descriptor ConfigDescriptor => new(MediaTypes.OciConfig, ConfigDigest, Config.Length);

    /// <summary>The manifest's descriptor without a platform.</summary>
    public Descriptor ManifestDescriptor => new(MediaTypes.OciManifest, ManifestDigest, Manifest.Length);

    /// <summary>The manifest's descriptor with its platform, as an index lists it.</summary>
    public Descriptor PlatformDescriptor => ManifestDescriptor with { Platform = Platform };

    /// <summary>Manifest, config and layer blobs.</summary>
    public IEnumerable<KeyValuePair<Digest, byte[]>> Blobs =>
        new[] { KeyValuePair.Create(ManifestDigest, Manifest), KeyValuePair.Create(ConfigDigest, Config) }
            .Concat(Layers.Select(l => KeyValuePair.Create(l.BlobDigest, l.Blob)));
}

/// <summary>An image index and every blob below it.</summary>
public sealed record TestIndex(byte[] Bytes, IReadOnlyList<KeyValuePair<Digest, byte[]>> Children)
{
    public Digest Digest { get; } = Digest.FromBytes(Bytes);

    public Descriptor Descriptor => new(MediaTypes.OciIndex, Digest, Bytes.Length);

    public IEnumerable<KeyValuePair<Digest, byte[]>> Blobs => Children.Prepend(KeyValuePair.Create(Digest, Bytes));
}

/// <summary>Makes small, realistic images in code.</summary>
public static class ImageBuilder
{
    public static readonly Platform LinuxAmd64 = new("linux", "amd64");
    public static readonly Platform LinuxArm64 = new("linux", "arm64");

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A layer with a directory, a file whose content depends on <paramref name="seed"/>, and a symlink.</summary>
    public static TestLayer Layer(string seed, bool gzip = false)
    {
        using var tar = new TarBuilder()
            .Directory("etc")
            .File($"etc/{seed}.conf", $"seed={seed}\n")
            .Symlink($"etc/{seed}.link", $"{seed}.conf");
        return FromTar(tar.ToArray(), gzip);
    }

    /// <summary>A layer of the given files.</summary>
    public static TestLayer LayerOf(bool gzip, params (string Path, string Content)[] files)
    {
        using var tar = new TarBuilder();
        foreach (var (path, content) in files)
        {
            tar.File(path, content);
        }

        return FromTar(tar.ToArray(), gzip);
    }

    public static TestLayer FromTar(byte[] tar, bool gzip) => new(tar, gzip ? Gzip(tar) : tar);

    public static TestImage Image(params TestLayer[] layers) => Image(LinuxAmd64, layers);

    public static TestImage Image(Platform platform, params TestLayer[] layers) => Image(platform, layers, diffIds: null);

    /// <summary>
    /// An image for <paramref name="platform"/>. <paramref name="diffIds"/> overrides the config's rootfs.diff_ids (to
    /// make a lying config); <paramref name="comment"/> makes otherwise equal images differ.
    /// </summary>
    public static TestImage Image(Platform platform, IReadOnlyList<TestLayer> layers, IReadOnlyList<Digest>? diffIds, string comment = "built by ImageBuilder")
    {
        var config = Json(w =>
        {
            w.WriteStartObject();
            w.WriteString("architecture", platform.Architecture);
            w.WriteString("os", platform.Os);
            if (platform.Variant is not null)
            {
                w.WriteString("variant", platform.Variant);
            }

            w.WriteStartObject("config");
            w.WriteStartArray("Env");
            w.WriteStringValue("PATH=/usr/local/bin:/usr/bin:/bin");
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartObject("rootfs");
            w.WriteString("type", "layers");
            w.WriteStartArray("diff_ids");
            foreach (var id in diffIds ?? [.. layers.Select(l => l.DiffId)])
            {
                w.WriteStringValue(id.Value);
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartArray("history");
            w.WriteStartObject();
            w.WriteString("created_by", comment);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        });
        var configDescriptor = new Descriptor(MediaTypes.OciConfig, Digest.FromBytes(config), config.Length);
        var manifest = Manifest(configDescriptor, [.. layers.Select(l => l.Descriptor)]);
        return new TestImage(platform, layers, config, manifest);
    }

    /// <summary>An OCI manifest document.</summary>
    public static byte[] Manifest(Descriptor config, IReadOnlyList<Descriptor> layers, string mediaType = MediaTypes.OciManifest) => Json(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("schemaVersion", 2);
        w.WriteString("mediaType", mediaType);
        w.WritePropertyName("config");
        WriteDescriptor(w, config);
        w.WriteStartArray("layers");
        foreach (var layer in layers)
        {
            WriteDescriptor(w, layer);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>An OCI index of the images, each listed with its platform.</summary>
    public static TestIndex Index(params TestImage[] images) =>
        Index([.. images.Select(i => i.PlatformDescriptor)], images.SelectMany(i => i.Blobs));

    /// <summary>An OCI index listing <paramref name="entries"/>, carrying <paramref name="children"/> as the blobs below it.</summary>
    public static TestIndex Index(IReadOnlyList<Descriptor> entries, IEnumerable<KeyValuePair<Digest, byte[]>> children) =>
        new(IndexBytes(entries), [.. children.DistinctBy(c => c.Key)]);

    public static byte[] IndexBytes(IReadOnlyList<Descriptor> entries, string? mediaType = MediaTypes.OciIndex) => Json(w =>
    {
        w.WriteStartObject();
        w.WriteNumber("schemaVersion", 2);
        if (mediaType is not null)
        {
            w.WriteString("mediaType", mediaType);
        }

        w.WriteStartArray("manifests");
        foreach (var entry in entries)
        {
            WriteDescriptor(w, entry);
        }

        w.WriteEndArray();
        w.WriteEndObject();
    });

    /// <summary>Annotations naming an index entry: containerd's image name and/or the OCI ref name.</summary>
    public static Dictionary<string, string> Names(string? imageName = null, string? refName = null)
    {
        var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
        if (imageName is not null)
        {
            annotations["io.containerd.image.name"] = imageName;
        }

        if (refName is not null)
        {
            annotations["org.opencontainers.image.ref.name"] = refName;
        }

        return annotations;
    }

    /// <summary>A docker save archive of one image with the given tags.</summary>
    public static byte[] DockerArchive(TestImage image, params string[] repoTags) => new DockerArchiveBuilder().Add(image, repoTags).Build();

    /// <summary>
    /// A Docker 25 style archive: an OCI layout whose index names the image as Docker does, plus a legacy
    /// <c>manifest.json</c> (and <c>repositories</c>) pointing into <c>blobs/</c>.
    /// </summary>
    public static byte[] Docker25Archive(TestImage image, string repoTag)
    {
        var name = References.ImageReference.Normalize(repoTag);
        return new OciLayoutBuilder()
            .Add(image.ManifestDescriptor with { Annotations = Names(name.ToString(), name.Tag) }, image.Blobs)
            .WithDockerManifest(image, repoTag)
            .Build();
    }

    public static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }

    public static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            write(writer);
        }

        return buffer.ToArray();
    }

    public static void WriteDescriptor(Utf8JsonWriter w, Descriptor d)
    {
        w.WriteStartObject();
        if (d.MediaType.Length > 0)
        {
            w.WriteString("mediaType", d.MediaType);
        }

        w.WriteString("digest", d.Digest.Value);
        w.WriteNumber("size", d.Size);
        if (d.Annotations is { Count: > 0 } annotations)
        {
            w.WriteStartObject("annotations");
            foreach (var (k, v) in annotations)
            {
                w.WriteString(k, v);
            }

            w.WriteEndObject();
        }

        if (d.Platform is { } p)
        {
            w.WriteStartObject("platform");
            w.WriteString("architecture", p.Architecture);
            w.WriteString("os", p.Os);
            if (p.Variant is not null)
            {
                w.WriteString("variant", p.Variant);
            }

            w.WriteEndObject();
        }

        w.WriteEndObject();
    }

    internal static string Text(byte[] utf8) => Encoding.UTF8.GetString(utf8);
}
