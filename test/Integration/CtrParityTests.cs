using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>
/// Archives written by real tools (skopeo, umoci), imported by <c>ctr images import</c> into one namespace and by
/// out/imageimportd into another namespace of the same containerd: the same names must point at the same targets
/// (so the same manifests, configs and layers), and ours must be complete, unpacked, pinned and leave no lease.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CtrParityTests
{
    private const string BaseName = "registry.example/team/app";
    private TempDirectory _dir = null!;

    [OneTimeSetUp]
    public void SetUp() => _dir = new TempDirectory("parity-");

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task Import_SkopeoDockerArchive_MatchesCtr()
    {
        var archive = await ToolArchives.DockerArchiveAsync(_dir.Combine("d1"), ["docker.io/library/demo:1.0"], CancellationToken.None).Bounded();
        await AssertParityAsync(archive.Path, []);
    }

    [Test]
    public async Task Import_SkopeoDockerArchiveWithTwoImages_MatchesCtr()
    {
        var archive = await ToolArchives.DockerArchiveTwoImagesAsync(_dir.Combine("d2"), "demo/base:1", "localhost:5000/demo/other:2", CancellationToken.None).Bounded();
        await AssertParityAsync(archive.Path, []);
    }

    [Test]
    public async Task Import_SkopeoOciArchiveTagOnly_MatchesCtrWithBaseName()
    {
        var archive = await ToolArchives.OciArchiveAsync(_dir.Combine("o1"), "v1", CancellationToken.None).Bounded();
        await AssertParityAsync(archive.Path, ["--base-name", BaseName]);
    }

    [Test]
    public async Task Import_OciLayoutWithSeveralRefs_MatchesCtrWithBaseName()
    {
        var archive = await ToolArchives.OciLayoutTarAsync(_dir.Combine("l1"), ["v1", "v2", "latest"], CancellationToken.None).Bounded();
        await AssertParityAsync(archive.Path, ["--base-name", BaseName]);
    }

    [Test]
    public async Task Import_OciLayoutWithFullReferenceNames_MatchesCtr()
    {
        var archive = await ToolArchives.OciLayoutTarAsync(_dir.Combine("l2"), ["docker.io/library/full:1.0", "quay.io/org/full:2.0"], CancellationToken.None).Bounded();
        await AssertParityAsync(archive.Path, []);
    }

    [Test]
    public async Task Import_OciLayoutFullNamesInsideAndOutsideBaseName_MatchesCtrWithBaseName()
    {
        // containerd's OCIPrefixName shapes: a bare tag, the base itself with a tag, a path under it, a digest under
        // it, a name that only starts with the base's characters, and a name elsewhere. ctr --base-name keeps the
        // first four (a tag under the base) and drops the last two.
        var archive = await ToolArchives.OciLayoutTarAsync(
            _dir.Combine("l3"),
            ["v1", BaseName + ":2.0", BaseName + "/sub:3", BaseName + "x:4", "quay.io/other/thing:5"],
            CancellationToken.None).Bounded();
        await AssertParityAsync(archive.Path, ["--base-name", BaseName]);
    }

    [Test]
    public async Task Import_ContainerdOciPrefixNameShape_MatchesCtrWithBaseName()
    {
        // containerd's own import test "OCIPrefixName": one manifest named "latest" and "docker.io/lib/img:ok".
        var archive = await ToolArchives.OciLayoutTarAsync(_dir.Combine("l5"), ["latest", "docker.io/lib/img:ok"], CancellationToken.None).Bounded();
        await AssertParityAsync(archive.Path, ["--base-name", "localhost:5000/myimage"]);
    }

    [Test]
    public async Task Import_ContainerdOciPrefixNameShapeWithTagPrefix_NamesAsContainerdsAddRefPrefix()
    {
        // The same shape with --tag-prefix: the names containerd's OCIPrefixName test expects of AddRefPrefix.
        var archive = await ToolArchives.OciLayoutTarAsync(_dir.Combine("l4"), ["latest", "docker.io/lib/img:ok"], CancellationToken.None).Bounded();
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("tagprefix");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--tag-prefix", "localhost:5000/myimage", archive.Path).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        var names = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Select(i => i.Name).Where(n => !n.Contains('@'));
        Assert.That(names, Is.EquivalentTo(new[] { "localhost:5000/myimage:latest", "docker.io/lib/img:ok" }));
    }

    [Test]
    public async Task Import_TagOnlyOciWithoutBaseName_FailsNamingTheOptions()
    {
        var archive = await ToolArchives.OciArchiveAsync(_dir.Combine("o2"), "lonely", CancellationToken.None).Bounded();
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("notag");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", archive.Path).Bounded(200);

        // Nothing could be named, so the file yields no image: a failure (issue 10), where ctr invents import-DATE:TAG.
        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Stderr, Does.Contain("yields no image").And.Contain("--base-name").And.Contain("--tag-prefix").And.Contain(Path.GetFileName(archive.Path)));
        Assert.That(await containerd.CtrFor(ns).ListImagesAsync().Bounded(), Is.Empty);
    }

    private static async Task AssertParityAsync(string archive, string[] extra)
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var theirs = containerd.CtrFor(SharedContainerd.NewNamespace("ctr"));
        var oursNs = SharedContainerd.NewNamespace("ours");
        var ours = containerd.CtrFor(oursNs);

        await theirs.ImportAsync(archive, ["--all-platforms", .. extra], CancellationToken.None).Bounded(200);
        var result = await ImageimportdCli.RunAsync(containerd, oursNs, ["import-once", .. extra, archive]).Bounded(200);
        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);

        var expected = (await theirs.ListImagesAsync().Bounded()).ToDictionary(i => i.Name);
        var actual = (await ours.ListImagesAsync().Bounded()).ToDictionary(i => i.Name);
        Assert.That(expected, Is.Not.Empty, "ctr imported nothing: the archive is not a useful fixture");
        foreach (var (name, image) in expected)
        {
            Assert.That(actual, Does.ContainKey(name), $"ctr made {name}, imageimportd did not");
            Assert.That(actual[name].Digest, Is.EqualTo(image.Digest), $"{name}: target digest differs from ctr's");
            Assert.That(actual[name].MediaType, Is.EqualTo(image.MediaType), name);
            Assert.That(actual[name].Labels, Does.ContainKey("io.cri-containerd.pinned").WithValue("pinned"));
            Assert.That(actual[name].Labels, Does.ContainKey("io.imageimportd.source").WithValue(archive));
            var repo = name[..name.LastIndexOf(':')];
            Assert.That(actual, Does.ContainKey($"{repo}@{image.Digest}"), "the name@digest twin is missing");
        }

        Assert.That(actual.Keys.Where(k => !k.Contains('@')), Is.EquivalentTo(expected.Keys), "imageimportd made tag names ctr did not");

        foreach (var check in await ours.CheckImagesAsync().Bounded())
        {
            Assert.That(check.Complete, Is.True, $"{check.Name}: {check.Status}");
            Assert.That(check.Unpacked, Is.True, $"{check.Name} is not unpacked");
        }

        // ctr's blobs carry the same labels in ours (GC references; uncompressed digests set by the unpack, whichever
        // stage applied the layer). Ours may briefly hold more: archive files no image names (skopeo's legacy
        // <id>/json) stay under the import's lease until containerd's next GC.
        var ourContent = (await ours.ListContentAsync().Bounded()).ToDictionary(c => c.Digest);
        foreach (var record in await theirs.ListContentAsync().Bounded())
        {
            Assert.That(ourContent, Does.ContainKey(record.Digest));
            Assert.That(ourContent[record.Digest].Labels, Is.EquivalentTo(record.Labels), $"labels of {record.Digest}");
        }

        var leases = await ours.LeasesAsync().Bounded();
        Assert.That(leases.Where(l => l.Id.StartsWith("imageimportd-", StringComparison.Ordinal)), Is.Empty, "import lease left behind");
    }
}
