using System.Text;
using Imageimportd.Archive;
using Imageimportd.Content;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class ArchiveReaderTests
{
    private static async Task<ArchiveContents> ReadAsync(byte[] tar, InMemoryContentStore? store = null, ArchiveLimits? limits = null)
    {
        store ??= new InMemoryContentStore();
        limits ??= ArchiveLimits.Default;
        await using var ingest = new ContentWriteStage(store, "test-import", ContentWriteOptions.Default, limits);
        using var stream = new MemoryStream(tar, writable: false);
        return await new ArchiveReader(limits).ReadAsync(stream, ingest, CancellationToken.None).WithTimeout();
    }

    private static Task<InvalidDataException> ReadFailsAsync(byte[] tar, InMemoryContentStore? store = null, ArchiveLimits? limits = null) =>
        AsyncAssert.ThrowsAsync<InvalidDataException>(() => ReadAsync(tar, store, limits));

    [Test]
    public async Task ReadAsync_DockerArchive_ParsesManifestJsonAndStoresEveryBlob()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("app", gzip: true));
        var store = new InMemoryContentStore();

        // Act
        var contents = await ReadAsync(ImageBuilder.DockerArchive(image, "alpine:3.19"), store);

        // Assert
        var entry = contents.DockerManifests!.Single();
        var layerPaths = DockerArchiveBuilder.LayerPaths(image);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(contents.Format, Is.EqualTo(ArchiveFormat.Docker));
            Assert.That(contents.RootIndex, Is.Null);
            Assert.That(entry.RepoTags, Is.EqualTo(new[] { "alpine:3.19" }));
            Assert.That(entry.Config, Is.EqualTo(DockerArchiveBuilder.ConfigPath(image)));
            Assert.That(entry.Layers, Is.EqualTo(layerPaths));
            Assert.That(contents.Resolve(entry.Config)?.Digest, Is.EqualTo(image.ConfigDigest));
            Assert.That(contents.Resolve(layerPaths[0])?.Digest, Is.EqualTo(image.Layers[0].BlobDigest));
            Assert.That(contents.Resolve(layerPaths[1])?.Digest, Is.EqualTo(image.Layers[1].BlobDigest));
            Assert.That(store.Contains(image.ConfigDigest) && store.Contains(image.Layers[0].BlobDigest) && store.Contains(image.Layers[1].BlobDigest), Is.True);
            Assert.That(store.ActiveIngests, Is.Empty);
            Assert.That(contents.BytesRead, Is.EqualTo(contents.BlobsByPath.Values.Sum(b => b.Size) + new DockerArchiveBuilder().Add(image, "alpine:3.19").ManifestJson().Length));
        }
    }

    [Test]
    public async Task ReadAsync_OciLayout_RootIndexIsIndexJsonAndBlobsVerified()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base", gzip: true));
        var layout = new OciLayoutBuilder().Add(image, refName: "v1");

        // Act
        var contents = await ReadAsync(layout.Build());

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(contents.Format, Is.EqualTo(ArchiveFormat.OciLayout));
            Assert.That(contents.DockerManifests, Is.Null);
            Assert.That(contents.RootIndex?.Digest, Is.EqualTo(Digest.FromBytes(layout.IndexJson())));
            Assert.That(contents.RootIndex?.Json, Is.EqualTo(layout.IndexJson()));
            Assert.That(contents.BlobsByDigest.Keys, Is.SupersetOf(image.Blobs.Select(b => b.Key)));
            Assert.That(contents.BlobsByDigest[image.ManifestDigest].Json, Is.EqualTo(image.Manifest), "small JSON is kept for the walk");
            Assert.That(contents.BlobsByDigest[image.Layers[0].BlobDigest].Json, Is.Null);
        }
    }

    [Test]
    public async Task ReadAsync_Docker25Archive_OciLayoutWinsOverManifestJson()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));

        // Act
        var contents = await ReadAsync(ImageBuilder.Docker25Archive(image, "alpine:3.19"));

        // Assert
        var index = ImageJson.ParseIndex(contents.RootIndex!.Json, "index.json");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(contents.Format, Is.EqualTo(ArchiveFormat.OciLayout));
            Assert.That(contents.DockerManifests, Is.Null);
            Assert.That(index.Manifests.Single().Annotation("io.containerd.image.name"), Is.EqualTo("docker.io/library/alpine:3.19"));
        }
    }

    [Test]
    public async Task ReadAsync_DotSlashPrefixedDockerArchive_KeyedByCleanPath()
    {
        // Arrange: what `tar -C saved -cf x.tar .` makes of a docker save directory.
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("app"));
        var tar = new DockerArchiveBuilder { Prefix = "./" }.Add(image, "app:1").Build();

        // Act
        var contents = await ReadAsync(tar);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(contents.Format, Is.EqualTo(ArchiveFormat.Docker));
            Assert.That(contents.BlobsByPath.Keys, Has.Some.EqualTo(DockerArchiveBuilder.ConfigPath(image)));
            Assert.That(contents.BlobsByPath.Keys, Has.None.StartsWith("./"));
            Assert.That(contents.Resolve(DockerArchiveBuilder.LayerPaths(image)[1])?.Digest, Is.EqualTo(image.Layers[1].BlobDigest));
        }
    }

    [Test]
    public async Task ReadAsync_DotSlashPrefixedOciLayout_RecognisedAndBlobNamesClaimed()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var tar = new OciLayoutBuilder { Prefix = "./" }.Add(image, imageName: "docker.io/library/a:1").Build();

        // Act
        var contents = await ReadAsync(tar);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(contents.Format, Is.EqualTo(ArchiveFormat.OciLayout));
            Assert.That(contents.BlobsByPath[OciLayoutBuilder.BlobPath(image.ConfigDigest)].Digest, Is.EqualTo(image.ConfigDigest));
        }
    }

    [Test]
    public async Task ReadAsync_SymlinkedDuplicateLayer_ResolvesToTheStoredCopy()
    {
        // Arrange: the same layer bytes at two positions get two directories; docker saves the second as a symlink.
        var shared = ImageBuilder.Layer("empty");
        var image = ImageBuilder.Image(shared, ImageBuilder.Layer("app"), shared);
        var store = new InMemoryContentStore();
        var paths = DockerArchiveBuilder.LayerPaths(image);

        // Act
        var contents = await ReadAsync(ImageBuilder.DockerArchive(image, "app:1"), store);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(contents.Symlinks, Has.Count.EqualTo(1));
            Assert.That(contents.Symlinks[paths[2]], Is.EqualTo(paths[0]));
            Assert.That(contents.BlobsByPath.ContainsKey(paths[2]), Is.False);
            Assert.That(contents.Resolve(paths[2])?.Digest, Is.EqualTo(shared.BlobDigest));
            Assert.That(contents.BlobsByPath.Values.Count(b => b.Digest == shared.BlobDigest), Is.EqualTo(1), "the layer is stored once");
        }
    }

    [Test]
    public async Task ReadAsync_DotSlashPrefixedSymlinkedLayer_Resolves()
    {
        // Arrange: manifest.json names "<id>/layer.tar" while the symlink entry is "./<id>/layer.tar".
        // Resolve already cleans the path it is given; the symlink's own name needs the same treatment.
        var shared = ImageBuilder.Layer("empty");
        var image = ImageBuilder.Image(shared, ImageBuilder.Layer("app"), shared);
        var tar = new DockerArchiveBuilder { Prefix = "./" }.Add(image, "app:1").Build();

        // Act
        var contents = await ReadAsync(tar);

        // Assert
        Assert.That(contents.Resolve(DockerArchiveBuilder.LayerPaths(image)[2])?.Digest, Is.EqualTo(shared.BlobDigest));
    }

    [Test]
    public async Task ReadAsync_ManifestJsonBeforeLayers_ResolvesEverything()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("app"));
        var tar = new DockerArchiveBuilder { ManifestFirst = true }.Add(image, "app:1").Build();

        // Act
        var contents = await ReadAsync(tar);

        // Assert
        var entry = contents.DockerManifests!.Single();
        Assert.That(entry.Layers.Select(l => contents.Resolve(l)?.Digest), Is.EqualTo(image.Layers.Select(l => (Digest?)l.BlobDigest)));
    }

    [Test]
    public async Task ReadAsync_OciMetadataAfterBlobs_Recognised()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var layout = new OciLayoutBuilder { MetadataLast = true }.Add(image, refName: "v1");

        // Act
        var contents = await ReadAsync(layout.Build());

        // Assert
        Assert.That((contents.Format, contents.RootIndex?.Digest), Is.EqualTo((ArchiveFormat.OciLayout, (Digest?)Digest.FromBytes(layout.IndexJson()))));
    }

    [Test]
    public async Task ReadAsync_DuplicateEntries_LastOneWins()
    {
        // Arrange
        using var tar = new TarBuilder()
            .File("manifest.json", """[{"Config":"c.json","RepoTags":["old:1"],"Layers":["x/layer.tar"]}]""")
            .File("x/layer.tar", "first copy")
            .File("c.json", "{}")
            .File("x/layer.tar", "second copy")
            .File("manifest.json", """[{"Config":"c.json","RepoTags":["new:1"],"Layers":["x/layer.tar"]}]""");

        // Act
        var contents = await ReadAsync(tar.ToArray());

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(contents.DockerManifests!.Single().RepoTags, Is.EqualTo(new[] { "new:1" }));
            Assert.That(contents.Resolve("x/layer.tar")?.Digest, Is.EqualTo(Digest.FromString("second copy")));
        }
    }

    [Test]
    public async Task ReadAsync_HardLinksAndDirectories_IgnoredAsContainerdDoes()
    {
        // Arrange
        using var tar = new TarBuilder()
            .Directory("a")
            .File("a/layer.tar", "bytes")
            .HardLink("b/layer.tar", "a/layer.tar")
            .File("manifest.json", "[]");

        // Act
        var contents = await ReadAsync(tar.ToArray());

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(contents.BlobsByPath.Keys, Is.EquivalentTo(new[] { "a/layer.tar" }));
            Assert.That(contents.Symlinks, Is.Empty);
            Assert.That(contents.DockerManifests, Is.Empty);
        }
    }

    [Test]
    public async Task ReadAsync_NeitherManifestJsonNorOciLayout_ThrowsUnrecognizedFormat()
    {
        // Arrange
        using var tar = new TarBuilder().File("hello.txt", "hi").File("index.json", """{"manifests":[]}""");

        // Act
        var ex = await ReadFailsAsync(tar.ToArray());

        // Assert
        Assert.That(ex.Message, Does.Contain("unrecognized image format"));
    }

    [Test]
    public async Task ReadAsync_ManifestJsonNull_ThrowsUnrecognizedFormat()
    {
        // Arrange: Go decodes "null" into a nil slice, which containerd treats as no manifest.json.
        using var tar = new TarBuilder().File("manifest.json", "null");

        // Act
        var ex = await ReadFailsAsync(tar.ToArray());

        // Assert
        Assert.That(ex.Message, Does.Contain("unrecognized image format"));
    }

    [TestCase(0, TestName = "ReadAsync_ZeroBytes_ThrowsEmptyArchive")]
    [TestCase(1024, TestName = "ReadAsync_OnlyEndOfArchiveBlocks_ThrowsEmptyArchive")]
    public async Task ReadAsync_NoEntries_ThrowsEmptyArchive(int zeroBytes)
    {
        // Act
        var ex = await ReadFailsAsync(new byte[zeroBytes]);

        // Assert
        Assert.That(ex.Message, Does.Contain("empty archive"));
    }

    [Test]
    public async Task ReadAsync_EmptyTarFromWriter_ThrowsEmptyArchive()
    {
        // Arrange
        using var tar = new TarBuilder();

        // Act
        var ex = await ReadFailsAsync(tar.ToArray());

        // Assert
        Assert.That(ex.Message, Does.Contain("empty archive"));
    }

    [TestCase(2048, TestName = "ReadAsync_RandomBytes_ThrowsNotATar")]
    [TestCase(100, TestName = "ReadAsync_ShortText_ThrowsNotATar")]
    public async Task ReadAsync_NotATar_ThrowsNotATar(int length)
    {
        // Arrange
        var bytes = length == 100 ? Encoding.ASCII.GetBytes(new string('x', 99) + "\n") : new byte[length];
        if (length != 100)
        {
            new Random(42).NextBytes(bytes);
        }

        // Act
        var ex = await ReadFailsAsync(bytes);

        // Assert
        Assert.That(ex.Message, Does.StartWith("not a tar archive"));
    }

    [Test]
    public async Task ReadAsync_LayerDataTruncated_ThrowsAndLeavesNoIngest()
    {
        // Arrange: the header says 4096 bytes, the stream ends 1000 bytes in.
        using var tar = new TarBuilder().File("manifest.json", "[]").File("x/layer.tar", new byte[4096]);
        var bytes = tar.ToArray();
        var truncated = bytes[..(512 + 512 + 512 + 1000)];
        var store = new InMemoryContentStore();

        // Act
        var ex = await ReadFailsAsync(truncated, store);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex.Message, Does.Contain("truncated archive").And.Contain("x/layer.tar"));
            Assert.That(store.ActiveIngests, Is.Empty);
            Assert.That(store.AbortedIngests, Has.Count.EqualTo(1));
            Assert.That(store.Contains(Digest.FromBytes(new byte[4096])), Is.False);
        }
    }

    [Test]
    public async Task ReadAsync_ManifestJsonTruncated_Throws()
    {
        // Arrange
        using var tar = new TarBuilder().File("manifest.json", "[" + new string(' ', 2000) + "]");
        var truncated = tar.ToArray()[..(512 + 100)];

        // Act
        var ex = await ReadFailsAsync(truncated);

        // Assert
        Assert.That(ex.Message, Does.Contain("truncated archive: manifest.json"));
    }

    [Test]
    public async Task ReadAsync_ManifestJsonOverMetadataLimit_Throws()
    {
        // Arrange
        var limits = new ArchiveLimits { MaxMetadataBytes = 64 };
        using var tar = new TarBuilder().File("manifest.json", "[" + new string(' ', 64) + "]");

        // Act
        var ex = await ReadFailsAsync(tar.ToArray(), limits: limits);

        // Assert
        Assert.That(ex.Message, Does.StartWith("manifest.json is 66 bytes"));
    }

    [Test]
    public async Task ReadAsync_IndexJsonOverMetadataLimit_Throws()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var limits = new ArchiveLimits { MaxMetadataBytes = 100 };
        var tar = new OciLayoutBuilder().Add(image, refName: "a-long-reference-name-to-pass-the-limit").Build();

        // Act
        var ex = await ReadFailsAsync(tar, limits: limits);

        // Assert
        Assert.That(ex.Message, Does.StartWith("index.json is"));
    }

    [Test]
    public async Task ReadAsync_UnsupportedLayoutVersion_Throws()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var tar = new OciLayoutBuilder().Add(image, refName: "v1").LayoutVersion("2.0.0").Build();

        // Act
        var ex = await ReadFailsAsync(tar);

        // Assert
        Assert.That(ex.Message, Does.Contain("unsupported OCI layout version \"2.0.0\""));
    }

    [Test]
    public async Task ReadAsync_OciLayoutWithoutIndexJson_Throws()
    {
        // Arrange
        using var tar = new TarBuilder().File("oci-layout", """{"imageLayoutVersion":"1.0.0"}""").File("blobs/sha256/x", "x");

        // Act
        var ex = await ReadFailsAsync(tar.ToArray());

        // Assert
        Assert.That(ex.Message, Does.Contain("no index.json"));
    }

    [Test]
    public async Task ReadAsync_BlobBytesDoNotMatchTheirName_ThrowsAndCommitsNothing()
    {
        // Arrange
        var claimed = Digest.FromString("what the name promises");
        using var tar = new TarBuilder()
            .File("oci-layout", """{"imageLayoutVersion":"1.0.0"}""")
            .File("index.json", """{"schemaVersion":2,"manifests":[]}""")
            .File(OciLayoutBuilder.BlobPath(claimed), "what the bytes are");
        var store = new InMemoryContentStore();

        // Act
        var ex = await ReadFailsAsync(tar.ToArray(), store);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex.Message, Does.Contain("does not match its name").And.Contain(claimed.Value));
            Assert.That(store.Contains(Digest.FromString("what the bytes are")), Is.False);
            Assert.That(store.Contains(claimed), Is.False);
            Assert.That(store.ActiveIngests, Is.Empty);
        }
    }

    [Test]
    public async Task ReadAsync_MoreEntriesThanLimit_Throws()
    {
        // Arrange
        var limits = new ArchiveLimits { MaxEntries = 3 };
        using var tar = new TarBuilder().Directory("a").Directory("b").Directory("c").Directory("d");

        // Act
        var ex = await ReadFailsAsync(tar.ToArray(), limits: limits);

        // Assert
        Assert.That(ex.Message, Does.Contain("more than 3 entries"));
    }

    [Test]
    public async Task ReadAsync_OciLayoutAlreadyInStore_SendsNothing()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("big", gzip: true));
        var layout = new OciLayoutBuilder().Add(image, refName: "v1");
        var store = new InMemoryContentStore();
        foreach (var (_, bytes) in image.Blobs)
        {
            store.Put(bytes);
        }

        store.Put(layout.IndexJson());

        // Act
        var contents = await ReadAsync(layout.Build(), store);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.BytesWritten, Is.Zero);
            Assert.That(store.WritersOpened, Is.Zero);
            Assert.That(contents.BlobsByDigest.Keys, Is.SupersetOf(image.Blobs.Select(b => b.Key)));
            Assert.That(contents.BlobsByDigest[image.ManifestDigest].Json, Is.EqualTo(image.Manifest), "JSON of skipped blobs is still kept for the walk");
        }
    }

    [TestCase("blobs/sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [TestCase("blobs/sha256/E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", null)]
    [TestCase("blobs/md5/d41d8cd98f00b204e9800998ecf8427e", null)]
    [TestCase("blobs/sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855/x", null)]
    [TestCase("other/sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", null)]
    [TestCase("blobs/sha256", null)]
    [TestCase("blobs//e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", null)]
    public void ClaimedDigest_EntryName_DigestOnlyForWellFormedBlobPaths(string name, string? expected)
    {
        Assert.That(ArchiveReader.ClaimedDigest(name)?.Value, Is.EqualTo(expected));
    }
}
