using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>The import-once contract scripts rely on: exit codes, options, one line per file, nothing half-made.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ImportOnceTests
{
    private TempDirectory _dir = null!;
    private ToolArchive _docker = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _dir = new TempDirectory("once-");
        _docker = await ToolArchives.DockerArchiveAsync(_dir.Combine("src"), ["docker.io/library/once:1.0"], CancellationToken.None).Bounded();
    }

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task ImportOnce_UnknownOption_ExitsTwo()
    {
        var result = await ImageimportdCli.RunRawAsync(["import-once", "--bogus"]).Bounded();

        Assert.That(result.ExitCode, Is.EqualTo(2), result.Output);
        Assert.That(result.Stderr, Does.Contain("--bogus"));
    }

    [Test]
    public async Task ImportOnce_NoFilesNoDirectory_ExitsTwo()
    {
        var result = await ImageimportdCli.RunRawAsync(["import-once"]).Bounded();

        Assert.That(result.ExitCode, Is.EqualTo(2), result.Output);
    }

    [Test]
    public async Task Version_Prints_ExitsZero()
    {
        var result = await ImageimportdCli.RunRawAsync(["--version"]).Bounded();

        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.Stdout, Does.Match(@"^\d+\.\d+\.\d+"));
    }

    [Test]
    public async Task ImportOnce_BadFileAmongGood_ExitsOneAndImportsTheGood()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("mixed");
        var junk = _dir.Combine("junk.tar");
        await File.WriteAllBytesAsync(junk, System.Security.Cryptography.RandomNumberGenerator.GetBytes(4096));
        var empty = _dir.Combine("empty.tar");
        await File.WriteAllBytesAsync(empty, []);

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", junk, _docker.Path, empty).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Stderr, Does.Contain("failed " + junk).And.Contain("failed " + empty));
        Assert.That(result.Stderr, Does.Contain("imported " + _docker.Path));
        var names = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Select(i => i.Name);
        Assert.That(names, Does.Contain("docker.io/library/once:1.0"));
        Assert.That(await containerd.CtrFor(ns).LeasesAsync().Bounded(), Is.Empty);
    }

    [Test]
    public async Task ImportOnce_SameFileTwice_SecondRunIsUnchanged()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("again");

        var first = await ImageimportdCli.RunAsync(containerd, ns, "import-once", _docker.Path).Bounded(200);
        var second = await ImageimportdCli.RunAsync(containerd, ns, "import-once", _docker.Path).Bounded(200);

        Assert.That(first.ExitCode, Is.EqualTo(0), first.Output);
        Assert.That(second.ExitCode, Is.EqualTo(0), second.Output);
        Assert.That(first.Stderr, Does.Contain("imported " + _docker.Path));
        Assert.That(second.Stderr, Does.Contain("unchanged " + _docker.Path));
    }

    [Test]
    public async Task ImportOnce_TwoFilesWithTheSameImage_SecondRunChangesNothing()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("twins");
        var copy = _dir.Combine("twin-" + ns + ".tar");
        File.Copy(_docker.Path, copy);

        var first = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--parallel", "1", _docker.Path, copy).Bounded(200);
        var second = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--parallel", "1", _docker.Path, copy).Bounded(200);

        Assert.That(first.ExitCode, Is.EqualTo(0), first.Output);
        Assert.That(second.ExitCode, Is.EqualTo(0), second.Output);
        Assert.That(second.Stderr, Does.Contain("unchanged " + _docker.Path).And.Contain("unchanged " + copy));
        var image = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Single(i => i.Name == "docker.io/library/once:1.0");
        Assert.That(image.Labels["io.imageimportd.source"], Is.EqualTo(_docker.Path), "the first file keeps the source label");
    }

    [Test]
    public async Task ImportOnce_NoUnpack_CreatesImageWithoutSnapshots()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("nounpack");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--no-unpack", _docker.Path).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        var ctr = containerd.CtrFor(ns);
        Assert.That(await ctr.SnapshotsAsync().Bounded(), Is.Empty);
        var check = await ctr.CheckImagesAsync().Bounded();
        Assert.That(check.Select(c => c.Complete), Is.All.True);
        Assert.That(check.Select(c => c.Unpacked), Is.All.False);
    }

    [Test]
    public async Task ImportOnce_NoPin_LeavesNoPinLabel()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("nopin");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--no-pin", _docker.Path).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        foreach (var image in await containerd.CtrFor(ns).ListImagesAsync().Bounded())
        {
            Assert.That(image.Labels, Does.Not.ContainKey("io.cri-containerd.pinned"));
        }
    }

    [Test]
    public async Task ImportOnce_Unpack_SetsContainerdUnpackerLabels()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("labels");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", _docker.Path).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        var ctr = containerd.CtrFor(ns);
        var config = _docker.ConfigDigests.Values.Single();
        var configLabels = await ctr.ContentLabelsAsync(config).Bounded();
        Assert.That(configLabels, Does.ContainKey("containerd.io/gc.ref.snapshot.overlayfs"));
        var chainId = configLabels["containerd.io/gc.ref.snapshot.overlayfs"];
        var snapshots = await ctr.SnapshotsAsync().Bounded();
        Assert.That(snapshots.Select(s => s.Key), Does.Contain(chainId));
        Assert.That(snapshots.Select(s => s.Kind), Is.All.EqualTo("Committed"));
        var withUncompressed = (await ctr.ListContentAsync().Bounded()).Count(c => c.Labels.ContainsKey("containerd.io/uncompressed"));
        Assert.That(withUncompressed, Is.GreaterThanOrEqualTo(snapshots.Count));
    }

    [Test]
    public async Task ImportOnce_ImagesDirectory_ImportsCandidatesOnly()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("dir");
        var images = _dir.Combine("images-" + ns);
        Directory.CreateDirectory(Path.Combine(images, "sub"));
        File.Copy(_docker.Path, Path.Combine(images, "sub", "10-app.TAR"));
        await File.WriteAllTextAsync(Path.Combine(images, "notes.md"), "not an archive");
        await File.WriteAllTextAsync(Path.Combine(images, ".hidden.tar"), "ignored");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--images", images).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(result.Stderr, Does.Contain("10-app.TAR").And.Not.Contain("notes.md").And.Not.Contain(".hidden.tar"));
        Assert.That((await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Select(i => i.Name), Does.Contain("docker.io/library/once:1.0"));
    }

    [Test]
    public async Task ImportOnce_UnderJournald_PriorityPrefixNoTimestamp()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("journal");

        var result = await ImageimportdCli.RunRawAsync(
            ["import-once", "--address", containerd.Address, "--namespace", ns, _docker.Path],
            env: new Dictionary<string, string> { ["JOURNAL_STREAM"] = "8:12345" }).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Is.Not.Empty);
        Assert.That(lines, Is.All.Match(@"^<[2-7]>"));
        Assert.That(lines, Has.Some.StartsWith("<6>imported " + _docker.Path));
    }

    [Test]
    public async Task ImportOnce_ZstdWindowOverDecoderMemory_RefusedClearly()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("window");
        var zst = _dir.Combine("long.tar.zst");
        // From a pipe zstd cannot shrink the window to the input's size: the frame asks for the full 128 MiB.
        await Tools.RunAsync("bash", ["-c", $"zstd -q --long=27 -c < '{_docker.Path}' > '{zst}'"], CancellationToken.None).Bounded();

        var refused = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--decoder-memory", "8", zst).Bounded(200);
        var accepted = await ImageimportdCli.RunAsync(containerd, ns, "import-once", zst).Bounded(200);

        Assert.That(refused.ExitCode, Is.EqualTo(1), refused.Output);
        Assert.That(refused.Stderr, Does.Contain("zstd").And.Contain("limit"));
        Assert.That(accepted.ExitCode, Is.EqualTo(0), accepted.Output);
    }

    [Test]
    public async Task ImportOnce_ContainerdAbsent_FailsWithClearMessage()
    {
        var result = await ImageimportdCli.RunRawAsync(["import-once", "--address", _dir.Combine("nothing.sock"), "--wait", "1", _docker.Path]).Bounded();

        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Stderr, Does.Contain("no socket there"));
    }
}
