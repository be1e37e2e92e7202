using System.Security.Cryptography;
using System.Text.Json;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.HarnessTests;

/// <summary>Every ToolArchives output imports with ctr and yields the names it promises.</summary>
[TestFixture]
public sealed class ToolArchivesTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private TempDirectory _work = null!;

    [OneTimeSetUp]
    public void CreateWorkDir() => _work = new TempDirectory();

    [OneTimeTearDown]
    public void DeleteWorkDir() => _work.Dispose();

    [Test]
    public async Task DockerArchiveAsync_ThreeRefs_CtrImportsAllNames()
    {
        string[] refs = ["docker.io/library/alpha:1.0", "docker.io/library/alpha:latest", "example.com/team/beta:2"];
        var archive = await ToolArchives.DockerArchiveAsync(_work.Path, refs, CancellationToken.None).WaitAsync(Limit);
        var ctr = await SharedContainerd.NewCtrAsync("docker3").WaitAsync(Limit);

        await ctr.ImportAsync(archive.Path, "--base-name", "unused.example/x").WaitAsync(Limit);
        var images = await ctr.ListImagesAsync().WaitAsync(Limit);

        Assert.Multiple(() =>
        {
            Assert.That(images.Select(i => i.Name), Is.EquivalentTo(archive.ExpectedNames("unused.example/x")));
            Assert.That(images.Select(i => i.MediaType), Has.All.EqualTo("application/vnd.docker.distribution.manifest.v2+json"));
            Assert.That(images.Select(i => i.Digest).Distinct().Count(), Is.EqualTo(1));
            Assert.That(images.SelectMany(i => i.Platforms).Distinct(), Is.EquivalentTo(new[] { "linux/amd64" }));
        });
    }

    [Test]
    public async Task DockerArchiveAsync_Layout_HasManifestRepositoriesAndDiffIdTars()
    {
        var archive = await ToolArchives.DockerArchiveAsync(_work.Path, ["docker.io/library/layout:1"], CancellationToken.None).WaitAsync(Limit);

        var entries = (await Tools.RunAsync("tar", ["-tf", archive.Path], CancellationToken.None).WaitAsync(Limit)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var manifest = await Tools.RunAsync("tar", ["-xOf", archive.Path, "manifest.json"], CancellationToken.None).WaitAsync(Limit);
        using var doc = JsonDocument.Parse(manifest);
        var image = doc.RootElement[0];

        Assert.Multiple(() =>
        {
            Assert.That(entries, Does.Contain("manifest.json").And.Contain("repositories"));
            Assert.That(image.GetProperty("RepoTags")[0].GetString(), Is.EqualTo("docker.io/library/layout:1"));
            Assert.That(image.GetProperty("Layers").GetArrayLength(), Is.EqualTo(3));
            Assert.That(image.GetProperty("Layers").EnumerateArray().Select(l => l.GetString()), Has.All.Match("^[0-9a-f]{64}\\.tar$"));
            Assert.That(entries, Has.Some.Match("^[0-9a-f]{64}/layer\\.tar$"));
            Assert.That(archive.ConfigDigests["docker.io/library/layout:1"], Does.StartWith("sha256:"));
        });
    }

    [Test]
    public async Task DockerArchiveTwoImagesAsync_TwoImages_CtrImportsBothCompleteAndUnpacked()
    {
        var archive = await ToolArchives.DockerArchiveTwoImagesAsync(_work.Path, "docker.io/library/first:1", "quay.io/org/second:2", CancellationToken.None).WaitAsync(Limit);
        var ctr = await SharedContainerd.NewCtrAsync("docker2img").WaitAsync(Limit);

        await ctr.ImportAsync(archive.Path).WaitAsync(Limit);
        var images = await ctr.ListImagesAsync().WaitAsync(Limit);
        var checks = await ctr.CheckImagesAsync().WaitAsync(Limit);

        Assert.Multiple(() =>
        {
            Assert.That(images.Select(i => i.Name), Is.EquivalentTo(archive.ExpectedNames("unused")));
            Assert.That(images.Select(i => i.Digest).Distinct().Count(), Is.EqualTo(2));
            Assert.That(checks, Has.Count.EqualTo(2));
            Assert.That(checks, Has.All.Matches<ImageCheckRecord>(c => c.Complete && c.Unpacked));
            Assert.That(archive.ConfigDigests.Values.Distinct().Count(), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task OciArchiveAsync_BareTag_CtrNamesItBaseNameColonTag()
    {
        var archive = await ToolArchives.OciArchiveAsync(_work.Path, "v1.0", CancellationToken.None).WaitAsync(Limit);
        var ctr = await SharedContainerd.NewCtrAsync("ociarchive").WaitAsync(Limit);

        await ctr.ImportAsync(archive.Path, "--base-name", "docker.io/library/bare").WaitAsync(Limit);
        var images = await ctr.ListImagesAsync().WaitAsync(Limit);

        Assert.Multiple(() =>
        {
            Assert.That(images.Select(i => i.Name), Is.EquivalentTo(new[] { "docker.io/library/bare:v1.0" }));
            Assert.That(images.Select(i => i.Name), Is.EquivalentTo(archive.ExpectedNames("docker.io/library/bare")));
            Assert.That(images[0].Digest, Is.EqualTo(archive.ManifestDigests["v1.0"]));
            Assert.That(images[0].MediaType, Is.EqualTo("application/vnd.oci.image.manifest.v1+json"));
        });
    }

    [Test]
    public async Task OciLayoutTarAsync_BareTags_CtrImportsEachRef()
    {
        var archive = await ToolArchives.OciLayoutTarAsync(_work.Path, ["ref1", "ref2"], CancellationToken.None).WaitAsync(Limit);
        var ctr = await SharedContainerd.NewCtrAsync("ocilayout").WaitAsync(Limit);

        await ctr.ImportAsync(archive.Path, "--base-name", "example.com/layout").WaitAsync(Limit);
        var images = await ctr.ListImagesAsync().WaitAsync(Limit);

        Assert.That(images.Select(i => i.Name), Is.EquivalentTo(new[] { "example.com/layout:ref1", "example.com/layout:ref2" }));
    }

    [Test]
    public async Task OciLayoutTarAsync_FullReferencesTwoImages_CtrKeepsNames()
    {
        var refs = new Dictionary<string, string>
        {
            ["docker.io/library/foo:1.0"] = ToolArchives.BaseTag,
            ["docker.io/library/foo:2.0"] = ToolArchives.OtherTag,
        };
        var archive = await ToolArchives.OciLayoutTarAsync(_work.Path, refs, CancellationToken.None).WaitAsync(Limit);
        var ctr = await SharedContainerd.NewCtrAsync("ocifull").WaitAsync(Limit);

        await ctr.ImportAsync(archive.Path, "--base-name", "docker.io/library/foo").WaitAsync(Limit);
        var images = await ctr.ListImagesAsync().WaitAsync(Limit);
        var entries = await Tools.RunAsync("tar", ["-tf", archive.Path], CancellationToken.None).WaitAsync(Limit);

        Assert.Multiple(() =>
        {
            Assert.That(images.Select(i => i.Name), Is.EquivalentTo(refs.Keys));
            Assert.That(images.ToDictionary(i => i.Name, i => i.Digest), Is.EquivalentTo(archive.ManifestDigests));
            Assert.That(entries.Split('\n'), Does.Contain("./index.json").And.Contain("./oci-layout"));
        });
    }

    [Test]
    public async Task SourceLayoutAsync_BuiltInTwoDirs_SameDigests()
    {
        using var other = new TempDirectory();

        var first = await ToolArchives.SourceLayoutAsync(_work.Path, CancellationToken.None).WaitAsync(Limit);
        var second = await ToolArchives.SourceLayoutAsync(other.Path, CancellationToken.None).WaitAsync(Limit);

        Assert.That(ToolArchives.LayoutDigests(second), Is.EquivalentTo(ToolArchives.LayoutDigests(first)));
    }

    [Test]
    public async Task SourceLayoutAsync_Layers_AreCompleteTarStreams()
    {
        var layout = await ToolArchives.SourceLayoutAsync(_work.Path, CancellationToken.None).WaitAsync(Limit);
        var layerCounts = new Dictionary<string, int>();

        foreach (var (tag, digests) in ToolArchives.LayoutDigests(layout))
        {
            using var manifest = JsonDocument.Parse(await File.ReadAllBytesAsync(BlobPath(layout, digests.Manifest)));
            var layers = manifest.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!).ToList();
            layerCounts[tag] = layers.Count;
            foreach (var layer in layers)
            {
                var tar = await Tools.RunBytesAsync("gzip", ["-dc", BlobPath(layout, layer)], TimeSpan.FromSeconds(30), CancellationToken.None).WaitAsync(Limit);
                // Padded to 512-byte blocks and closed by two zero blocks (umoci insert's layers are not).
                Assert.That(tar.Length % 512, Is.Zero, layer);
                Assert.That(tar[^1024..].All(b => b == 0), Is.True, layer);
            }
        }

        Assert.That(layerCounts, Is.EquivalentTo(new Dictionary<string, int> { [ToolArchives.BaseTag] = 3, [ToolArchives.OtherTag] = 2 }));
    }

    [Test]
    public async Task Ctr_AfterImport_InspectsContentSnapshotsAndLeases()
    {
        var archive = await ToolArchives.OciArchiveAsync(_work.Path, "docker.io/library/inspect:1", CancellationToken.None).WaitAsync(Limit);
        var ctr = await SharedContainerd.NewCtrAsync("inspect").WaitAsync(Limit);
        await ctr.ImportAsync(archive.Path).WaitAsync(Limit);
        var manifestDigest = archive.ManifestDigests["docker.io/library/inspect:1"];
        var configDigest = archive.ConfigDigests["docker.io/library/inspect:1"];
        await ctr.RunAsync(["leases", "create", "--id", "harness-lease", "purpose=test"]).WaitAsync(Limit);

        var manifest = await ctr.ReadBlobAsync(manifestDigest).WaitAsync(Limit);
        using var manifestJson = JsonDocument.Parse(manifest);
        var layers = manifestJson.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString()!).ToList();
        var content = await ctr.ListContentAsync().WaitAsync(Limit);
        var configLabels = await ctr.ContentLabelsAsync(configDigest).WaitAsync(Limit);
        var snapshots = await ctr.SnapshotsAsync().WaitAsync(Limit);
        var leases = await ctr.LeasesAsync().WaitAsync(Limit);
        var top = snapshots.Single(s => !snapshots.Any(c => c.Parent == s.Key));
        // ctr's unpack leaves committed snapshots unlabelled; add one to read back.
        await ctr.RunAsync(["snapshots", "--snapshotter", "overlayfs", "label", top.Key, "harness=top"]).WaitAsync(Limit);
        var topLabels = await ctr.SnapshotLabelsAsync(top.Key).WaitAsync(Limit);

        Assert.Multiple(() =>
        {
            Assert.That("sha256:" + Convert.ToHexStringLower(SHA256.HashData(manifest)), Is.EqualTo(manifestDigest));
            // The import's own index blob is unreferenced and GC may or may not have removed it yet.
            Assert.That(content.Select(c => c.Digest), Is.SupersetOf(new[] { manifestDigest, configDigest }.Concat(layers)));
            Assert.That(configLabels.Keys, Has.Some.StartsWith("containerd.io/gc.ref.snapshot.overlayfs"));
            Assert.That(layers, Has.Count.EqualTo(3));
            Assert.That(snapshots, Has.Count.EqualTo(3));
            Assert.That(snapshots.Count(s => s.Parent is null), Is.EqualTo(1));
            Assert.That(snapshots.Select(s => s.Kind), Has.All.EqualTo("Committed"));
            Assert.That(topLabels["harness"], Is.EqualTo("top"));
            Assert.That(leases.Single(l => l.Id == "harness-lease").Labels["purpose"], Is.EqualTo("test"));
        });
    }

    private static string BlobPath(string layout, string digest) => Path.Combine(layout, "blobs", "sha256", digest["sha256:".Length..]);
}
