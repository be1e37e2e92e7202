using System.Globalization;
using System.Text;
using Imageimportd.Archive;
using Imageimportd.Content;
using Imageimportd.Images;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class DockerIndexBuilderTests
{
    /// <summary>Reads a docker archive into the store and builds its index, as FileImporter does.</summary>
    private static async Task<(Descriptor Index, string IndexText)> BuildAsync(byte[] tar, InMemoryContentStore store)
    {
        await using var ingest = new ContentWriteStage(store, "test-import", ContentWriteOptions.Default, ArchiveLimits.Default);
        var archive = await new ArchiveReader().ReadAsync(new MemoryStream(tar), ingest, CancellationToken.None).WithTimeout();
        var json = new BlobJsonSource(store, 1 << 20);
        json.AddAll(archive.BlobsByDigest.Values);
        var index = await new DockerIndexBuilder(store).BuildAsync(archive, ingest, json, CancellationToken.None).WithTimeout();
        await ingest.CompleteAsync(CancellationToken.None).WithTimeout();
        return (index, Encoding.UTF8.GetString(store.Get(index.Digest)));
    }

    private static string Descriptor(string mediaType, Digest digest, long size) =>
        $"{{\"mediaType\":\"{mediaType}\",\"digest\":\"{digest}\",\"size\":{size.ToString(CultureInfo.InvariantCulture)}}}";

    private static string ExpectedManifest(TestImage image, IEnumerable<string> layers) =>
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\",\"config\":"
        + Descriptor(MediaTypes.DockerConfig, image.ConfigDigest, image.Config.Length)
        + ",\"layers\":[" + string.Join(',', layers) + "]}";

    [Test]
    public async Task BuildAsync_TaggedImage_ManifestAndIndexBytesAsContainerdWritesThem()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("app"));
        var store = new InMemoryContentStore();
        var manifestText = ExpectedManifest(image, image.Layers.Select(l => Descriptor(MediaTypes.DockerLayer, l.BlobDigest, l.Blob.Length)));
        var manifestDigest = Digest.FromString(manifestText);

        // Act
        var (index, indexText) = await BuildAsync(ImageBuilder.DockerArchive(image, "alpine:3.19"), store);

        // Assert
        var expectedIndex =
            "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
            + $"\"digest\":\"{manifestDigest}\",\"size\":{Encoding.UTF8.GetByteCount(manifestText)},"
            + "\"annotations\":{\"io.containerd.image.name\":\"docker.io/library/alpine:3.19\",\"org.opencontainers.image.ref.name\":\"3.19\"},"
            + "\"platform\":{\"architecture\":\"amd64\",\"os\":\"linux\"}}]}";
        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.Contains(manifestDigest), Is.True);
            Assert.That(Encoding.UTF8.GetString(store.Get(manifestDigest)), Is.EqualTo(manifestText));
            Assert.That(indexText, Is.EqualTo(expectedIndex));
            Assert.That(index, Is.EqualTo(new Descriptor(MediaTypes.OciIndex, Digest.FromString(expectedIndex), Encoding.UTF8.GetByteCount(expectedIndex))));
        }
    }

    [Test]
    public async Task BuildAsync_SeveralRepoTags_OneNormalizedEntryPerTag()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var tags = new[] { "alpine", "user/app:1", "registry.example.com:5000/team/app:v2" };

        // Act
        var (_, indexText) = await BuildAsync(ImageBuilder.DockerArchive(image, tags), new InMemoryContentStore());

        // Assert
        var entries = ImageJson.ParseIndex(Encoding.UTF8.GetBytes(indexText), "index").Manifests;
        Assert.That(
            entries.Select(e => (e.Annotation(ImageLabels.ContainerdImageName), e.Annotation(ImageLabels.OciRefName))),
            Is.EqualTo(new[]
            {
                ((string?)"docker.io/library/alpine:latest", (string?)"latest"),
                ("docker.io/user/app:1", "1"),
                ("registry.example.com:5000/team/app:v2", "v2"),
            }));
        Assert.That(entries.Select(e => e.Digest).Distinct().Count(), Is.EqualTo(1), "every tag points at the same manifest");
    }

    [Test]
    public async Task BuildAsync_NoRepoTags_EntryWithoutAnnotations()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var store = new InMemoryContentStore();

        // Act
        var (_, indexText) = await BuildAsync(ImageBuilder.DockerArchive(image), store);

        // Assert
        var entry = ImageJson.ParseIndex(Encoding.UTF8.GetBytes(indexText), "index").Manifests.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entry.Annotations, Is.Null);
            Assert.That(indexText, Does.Not.Contain("annotations"));
            Assert.That(entry.Platform, Is.EqualTo(new Platform("linux", "amd64")));
        }
    }

    [Test]
    public async Task BuildAsync_GzipAndPlainLayers_TarGzipAndTarMediaTypes()
    {
        // Arrange
        var gz = ImageBuilder.Layer("compressed", gzip: true);
        var plain = ImageBuilder.Layer("plain");
        var image = ImageBuilder.Image(gz, plain);
        var store = new InMemoryContentStore();
        var expected = ExpectedManifest(image,
        [
            Descriptor(MediaTypes.DockerLayerGzip, gz.BlobDigest, gz.Blob.Length),
            Descriptor(MediaTypes.DockerLayer, plain.BlobDigest, plain.Blob.Length),
        ]);

        // Act
        await BuildAsync(ImageBuilder.DockerArchive(image, "a:1"), store);

        // Assert
        Assert.That(store.Contains(Digest.FromString(expected)), Is.True, "the generated manifest is exactly the expected text");
    }

    [Test]
    public async Task BuildAsync_StoreHasCompressedBlobLabelledUncompressed_ManifestPointsAtCompressedBlob()
    {
        // Arrange: an earlier pull left gzip(L) labelled containerd.io/uncompressed=digest(L); containerd's importer
        // then writes the manifest with the compressed blob instead of the archive's plain layer.
        var layer = ImageBuilder.Layer("pulled");
        var other = ImageBuilder.Layer("local");
        var image = ImageBuilder.Image(layer, other);
        var store = new InMemoryContentStore();
        var gz = ImageBuilder.Gzip(layer.Tar);
        var gzDigest = store.Put(gz, new Dictionary<string, string> { [ContentLabels.Uncompressed] = layer.DiffId.Value });
        var expected = ExpectedManifest(image,
        [
            Descriptor(MediaTypes.DockerLayerGzip, gzDigest, gz.Length),
            Descriptor(MediaTypes.DockerLayer, other.BlobDigest, other.Blob.Length),
        ]);

        // Act
        await BuildAsync(ImageBuilder.DockerArchive(image, "a:1"), store);

        // Assert
        Assert.That(store.Contains(Digest.FromString(expected)), Is.True);
    }

    [Test]
    public async Task BuildAsync_TwoCompressedBlobsLabelledForOneLayer_LastInDigestOrderWins()
    {
        // Arrange: containerd walks its store in digest order and the last match overwrites the descriptor.
        var layer = ImageBuilder.Layer("twice");
        var image = ImageBuilder.Image(layer);
        var store = new InMemoryContentStore();
        var label = new Dictionary<string, string> { [ContentLabels.Uncompressed] = layer.DiffId.Value };
        var one = ImageBuilder.Gzip(layer.Tar);
        var two = ImageBuilder.Gzip([.. layer.Tar, .. new byte[512]]);
        var candidates = new[] { one, two }.Select(b => (Digest: store.Put(b, label), Bytes: b)).OrderBy(c => c.Digest).ToList();
        var expected = ExpectedManifest(image, [Descriptor(MediaTypes.DockerLayerGzip, candidates[^1].Digest, candidates[^1].Bytes.Length)]);

        // Act
        await BuildAsync(ImageBuilder.DockerArchive(image, "a:1"), store);

        // Assert
        Assert.That(store.Contains(Digest.FromString(expected)), Is.True);
    }

    [TestCase("arm", "v6", "{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}", TestName = "BuildAsync_ArmConfig_PlatformFromOsAndArchOnlyThenNormalized")]
    [TestCase("aarch64", null, "{\"architecture\":\"arm64\",\"os\":\"linux\"}", TestName = "BuildAsync_Aarch64Config_NormalizedToArm64")]
    public async Task BuildAsync_ConfigPlatform_NormalizedAsContainerd(string arch, string? variant, string expectedPlatform)
    {
        // Arrange: containerd's images.Platforms reads only os and architecture from a config, then normalises.
        var image = ImageBuilder.Image(new Platform("linux", arch, variant), ImageBuilder.Layer("base"));
        var store = new InMemoryContentStore();

        // Act
        var (_, indexText) = await BuildAsync(ImageBuilder.DockerArchive(image, "a:1"), store);

        // Assert
        Assert.That(indexText, Does.Contain("\"platform\":" + expectedPlatform + "}"));
    }

    [Test]
    public async Task BuildAsync_InvalidRepoTag_ThrowsInvalidData()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));

        // Act
        var ex = await AsyncAssert.ThrowsAsync<InvalidDataException>(() => BuildAsync(ImageBuilder.DockerArchive(image, "Upper/Case:1"), new InMemoryContentStore()));

        // Assert
        Assert.That(ex.Message, Does.Contain("normalize image ref \"Upper/Case:1\""));
    }

    [TestCase("missing/layer.tar", "c.json", "layer \"missing/layer.tar\" not found", TestName = "BuildAsync_LayerMissingFromArchive_Throws")]
    [TestCase("l/layer.tar", "missing.json", "image config \"missing.json\" not found", TestName = "BuildAsync_ConfigMissingFromArchive_Throws")]
    public async Task BuildAsync_MissingFile_Throws(string layer, string config, string message)
    {
        // Arrange
        using var tar = new TarBuilder()
            .File("c.json", """{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}""")
            .File("l/layer.tar", "x")
            .File("manifest.json", $$"""[{"Config":"{{config}}","RepoTags":["a:1"],"Layers":["{{layer}}"]}]""");

        // Act
        var ex = await AsyncAssert.ThrowsAsync<InvalidDataException>(() => BuildAsync(tar.ToArray(), new InMemoryContentStore()));

        // Assert
        Assert.That(ex.Message, Is.EqualTo(message));
    }

    [Test]
    public async Task BuildAsync_EmptyManifestJson_IndexWithNullManifests()
    {
        // Arrange
        using var tar = new TarBuilder().File("manifest.json", "[]");

        // Act
        var (_, indexText) = await BuildAsync(tar.ToArray(), new InMemoryContentStore());

        // Assert
        Assert.That(indexText, Is.EqualTo("{\"schemaVersion\":2,\"manifests\":null}"));
    }
}
