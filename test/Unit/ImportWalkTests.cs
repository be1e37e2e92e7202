using Imageimportd.Content;
using Imageimportd.Images;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class ImportWalkTests
{
    private const string Config = "containerd.io/gc.ref.content.config";
    private const string M = "containerd.io/gc.ref.content.m.";
    private const string L = "containerd.io/gc.ref.content.l.";
    private const string Bare = "containerd.io/gc.ref.content.";

    private static readonly Platform Amd64 = ImageBuilder.LinuxAmd64;
    private static readonly Platform Arm64 = ImageBuilder.LinuxArm64;

    private static void PutAll(InMemoryContentStore store, IEnumerable<KeyValuePair<Digest, byte[]>> blobs, params Digest[] except)
    {
        foreach (var (digest, bytes) in blobs)
        {
            if (!except.Contains(digest))
            {
                store.Put(bytes);
            }
        }
    }

    private static async Task<(WalkResult Result, Digest Root)> WalkAsync(InMemoryContentStore store, IReadOnlyList<Descriptor> entries, Platform host)
    {
        var bytes = ImageBuilder.IndexBytes(entries);
        var root = store.Put(bytes);
        var walk = new ImportWalk(store, new BlobJsonSource(store, 1 << 20), host);
        var result = await walk.RunAsync(new Descriptor(MediaTypes.OciIndex, root, bytes.Length), new HashSet<Digest>(), CancellationToken.None).WithTimeout();
        return (result, root);
    }

    private static Dictionary<string, string> Labels(params (string Key, Digest Value)[] labels) =>
        labels.ToDictionary(l => l.Key, l => l.Value.Value, StringComparer.Ordinal);

    [Test]
    public async Task RunAsync_ImageEntry_SetsGcLabelsAsContainerdAndKeepsOtherLabels()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base", gzip: true), ImageBuilder.Layer("app"));
        var store = new InMemoryContentStore();
        PutAll(store, image.Blobs);
        store.Put(image.Manifest, new Dictionary<string, string> { ["keep"] = "me" });

        // Act
        var (result, root) = await WalkAsync(store, [image.ManifestDescriptor with { Annotations = ImageBuilder.Names("docker.io/library/a:1") }], Amd64);

        // Assert
        var manifestLabels = Labels((Config, image.ConfigDigest), (L + "0", image.Layers[0].BlobDigest), (L + "1", image.Layers[1].BlobDigest));
        manifestLabels["keep"] = "me";
        var entry = result.Entries.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.LabelsOf(image.ManifestDigest), Is.EquivalentTo(manifestLabels));
            Assert.That(store.LabelsOf(root), Is.EquivalentTo(Labels((M + "0", image.ManifestDigest))));
            Assert.That(store.LabelsOf(image.ConfigDigest), Is.Empty, "configs and layers have no children");
            Assert.That(entry.Complete, Is.True);
            Assert.That(entry.Missing, Is.Empty);
            Assert.That(entry.HostManifest?.Descriptor.Digest, Is.EqualTo(image.ManifestDigest));
            Assert.That(entry.HostManifest?.Config.DiffIds, Is.EqualTo(image.Layers.Select(l => l.DiffId)));
        }
    }

    [Test]
    public async Task RunAsync_NestedIndex_ChildIndexGetsBareNumberedLabel()
    {
        // Arrange
        var amd = ImageBuilder.Image(Amd64, ImageBuilder.Layer("amd"));
        var arm = ImageBuilder.Image(Arm64, ImageBuilder.Layer("arm"));
        var index = ImageBuilder.Index(amd, arm);
        var single = ImageBuilder.Image(ImageBuilder.Layer("single"));
        var store = new InMemoryContentStore();
        PutAll(store, index.Blobs.Concat(single.Blobs));

        // Act
        var (result, root) = await WalkAsync(store, [index.Descriptor, single.ManifestDescriptor], Amd64);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.LabelsOf(root), Is.EquivalentTo(Labels((Bare + "0", index.Digest), (M + "0", single.ManifestDigest))));
            Assert.That(store.LabelsOf(index.Digest), Is.EquivalentTo(Labels((M + "0", amd.ManifestDigest), (M + "1", arm.ManifestDigest))));
            Assert.That(store.LabelsOf(arm.ManifestDigest), Is.EquivalentTo(Labels((Config, arm.ConfigDigest), (L + "0", arm.Layers[0].BlobDigest))));
            Assert.That(result.Entries.Select(e => e.Complete), Is.EqualTo(new[] { true, true }));
        }
    }

    [Test]
    public void ChildLabels_MixedChildren_NumberedPerKeyAsChildGCLabels()
    {
        // Arrange
        Digest D(int i) => Digest.FromString(i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Descriptor[] children =
        [
            new(MediaTypes.OciConfig, D(0), 1),
            new(MediaTypes.OciLayerGzip, D(1), 1),
            new(MediaTypes.DockerLayer, D(2), 1),
            new(MediaTypes.DockerManifest, D(3), 1),
            new(MediaTypes.OciManifest, D(4), 1),
            new(MediaTypes.OciIndex, D(5), 1),
            new("application/vnd.example+json", D(6), 1),
            new(MediaTypes.DockerConfig, D(7), 1),
            new(MediaTypes.OciLayerZstd, D(8), 1),
        ];

        // Act
        var labels = ImportWalk.ChildLabels(children);

        // Assert: a key ending in '.' always gets its number; "config" only from the second one on.
        Assert.That(labels, Is.EquivalentTo(Labels(
            (Config, D(0)), (L + "0", D(1)), (L + "1", D(2)), (M + "0", D(3)), (M + "1", D(4)),
            (Bare + "0", D(5)), (Bare + "1", D(6)), (Config + "1", D(7)), (L + "2", D(8)))));
    }

    [Test]
    public async Task RunAsync_OtherPlatformLayerMissing_EntryCompleteWithHostManifest()
    {
        // Arrange: a single-platform save of a multi-platform image keeps the index but not the other platform's blobs.
        var amd = ImageBuilder.Image(Amd64, ImageBuilder.Layer("amd"));
        var arm = ImageBuilder.Image(Arm64, ImageBuilder.Layer("arm"));
        var index = ImageBuilder.Index(amd, arm);
        var store = new InMemoryContentStore();
        PutAll(store, index.Blobs, arm.Layers[0].BlobDigest, arm.ConfigDigest);

        // Act
        var (result, _) = await WalkAsync(store, [index.Descriptor], Amd64);

        // Assert
        var entry = result.Entries.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entry.Complete, Is.True);
            Assert.That(entry.HostManifest?.Descriptor.Digest, Is.EqualTo(amd.ManifestDigest));
            Assert.That(entry.Missing, Is.EquivalentTo(new[] { arm.ConfigDigest, arm.Layers[0].BlobDigest }));
        }
    }

    [Test]
    public async Task RunAsync_OtherPlatformManifestMissing_EntryComplete()
    {
        // Arrange
        var amd = ImageBuilder.Image(Amd64, ImageBuilder.Layer("amd"));
        var arm = ImageBuilder.Image(Arm64, ImageBuilder.Layer("arm"));
        var index = ImageBuilder.Index(amd, arm);
        var store = new InMemoryContentStore();
        PutAll(store, index.Blobs, arm.Blobs.Select(b => b.Key).ToArray());

        // Act
        var (result, _) = await WalkAsync(store, [index.Descriptor], Amd64);

        // Assert
        var entry = result.Entries.Single();
        Assert.That((entry.Complete, entry.Missing.SequenceEqual([arm.ManifestDigest])), Is.EqualTo((true, true)));
    }

    [Test]
    public async Task RunAsync_HostLayerMissing_EntryIncompleteNamingTheBlob()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("gone"));
        var store = new InMemoryContentStore();
        PutAll(store, image.Blobs, image.Layers[1].BlobDigest);

        // Act
        var (result, _) = await WalkAsync(store, [image.ManifestDescriptor], Amd64);

        // Assert
        var entry = result.Entries.Single();
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entry.Complete, Is.False);
            Assert.That(entry.HostManifest, Is.Null);
            Assert.That(entry.Missing, Is.EqualTo(new[] { image.Layers[1].BlobDigest }));
            Assert.That(store.LabelsOf(image.ManifestDigest), Does.ContainKey(L + "1"), "labels name missing children too");
        }
    }

    [TestCase("amd64", "amd")]
    [TestCase("arm64", "arm")]
    public async Task RunAsync_MultiPlatformIndex_HostManifestIsTheHostsPlatform(string hostArch, string expectedSeed)
    {
        // Arrange
        var arm = ImageBuilder.Image(Arm64, ImageBuilder.Layer("arm"));
        var amd = ImageBuilder.Image(Amd64, ImageBuilder.Layer("amd"));
        var index = ImageBuilder.Index(arm, amd);
        var store = new InMemoryContentStore();
        PutAll(store, index.Blobs);
        var expected = expectedSeed == "amd" ? amd : arm;

        // Act
        var (result, _) = await WalkAsync(store, [index.Descriptor], new Platform("linux", hostArch));

        // Assert
        Assert.That(result.Entries.Single().HostManifest?.Descriptor.Digest, Is.EqualTo(expected.ManifestDigest));
    }

    [Test]
    public async Task RunAsync_ArmV7HostWithV6AndV7Manifests_PicksTheBestMatchV7()
    {
        // Arrange: containerd (images.Manifest with platforms.Default()) sorts matches best first, so kubelet's
        // CRI resolves linux/arm/v7 here; unpacking v6 instead leaves the image CRI uses not unpacked.
        var v6 = ImageBuilder.Image(new Platform("linux", "arm", "v6"), ImageBuilder.Layer("v6"));
        var v7 = ImageBuilder.Image(new Platform("linux", "arm", "v7"), ImageBuilder.Layer("v7"));
        var index = ImageBuilder.Index(v6, v7);
        var store = new InMemoryContentStore();
        PutAll(store, index.Blobs);

        // Act
        var (result, _) = await WalkAsync(store, [index.Descriptor], new Platform("linux", "arm", "v7"));

        // Assert
        Assert.That(result.Entries.Single().HostManifest?.Descriptor.Digest, Is.EqualTo(v7.ManifestDigest));
    }

    [Test]
    public async Task RunAsync_NoManifestForHost_CompleteWithoutHostManifest()
    {
        // Arrange
        var arm = ImageBuilder.Image(Arm64, ImageBuilder.Layer("arm"));
        var store = new InMemoryContentStore();
        PutAll(store, arm.Blobs);

        // Act: the entry has no platform in its descriptor; the config says arm64.
        var (result, _) = await WalkAsync(store, [arm.ManifestDescriptor], Amd64);

        // Assert
        var entry = result.Entries.Single();
        Assert.That((entry.Complete, entry.HostManifest), Is.EqualTo((true, (ResolvedManifest?)null)));
    }

    [Test]
    public async Task RunAsync_EntryWithoutMediaType_TypeTakenFromTheDocument()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var store = new InMemoryContentStore();
        PutAll(store, image.Blobs);

        // Act
        var (result, root) = await WalkAsync(store, [image.ManifestDescriptor with { MediaType = "" }], Amd64);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Entries.Single().HostManifest?.Descriptor.Digest, Is.EqualTo(image.ManifestDigest));
            Assert.That(store.LabelsOf(root), Is.EquivalentTo(Labels((Bare + "0", image.ManifestDigest))));
            Assert.That(store.LabelsOf(image.ManifestDigest), Does.ContainKey(Config));
        }
    }

    [Test]
    public async Task RunAsync_DescriptorSaysManifestButDocumentIsIndex_ThrowsInvalidData()
    {
        // Arrange
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var index = ImageBuilder.Index(image);
        var store = new InMemoryContentStore();
        PutAll(store, index.Blobs);

        // Act
        var ex = await AsyncAssert.ThrowsAsync<InvalidDataException>(() => WalkAsync(store, [index.Descriptor with { MediaType = MediaTypes.OciManifest }], Amd64));

        // Assert
        Assert.That(ex.Message, Does.Contain(index.Digest.Value).And.Contain(MediaTypes.OciIndex));
    }
}
