using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>A real-tool archive compressed whole by each real compressor imports exactly as the plain archive does.</summary>
[TestFixture]
[NonParallelizable]
public sealed class CompressionParityTests
{
    private TempDirectory _dir = null!;
    private ToolArchive _archive = null!;
    private Dictionary<string, string> _plain = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _dir = new TempDirectory("zparity-");
        _archive = await ToolArchives.DockerArchiveAsync(_dir.Combine("src"), ["docker.io/library/zparity:1"], CancellationToken.None).Bounded();
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("zparity-plain");
        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", _archive.Path).Bounded(200);
        Assert.That(result.ExitCode, Is.Zero, result.Output);
        _plain = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).ToDictionary(i => i.Name, i => i.Digest);
    }

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [TestCase("gzip", "archive.tar.gz")]
    [TestCase("zstd", "archive.tar.zst")]
    [TestCase("bzip2", "archive.tar.bz2")]
    [TestCase("lz4", "archive.tar.lz4")]
    [TestCase("xz", "archive.tar.xz")]
    [TestCase("gzip", "misnamed.tar")]
    public async Task ImportOnce_WholeArchiveCompressed_SameImagesAsPlain(string tool, string name)
    {
        var compressed = _dir.Combine(tool + "-" + name);
        await Tools.RunAsync("bash", ["-c", $"{tool} -c < '{_archive.Path}' > '{compressed}'"], CancellationToken.None).Bounded();
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("zparity-" + tool);

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", compressed).Bounded(200);

        Assert.That(result.ExitCode, Is.Zero, result.Output);
        var images = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).ToDictionary(i => i.Name, i => i.Digest);
        Assert.That(images, Is.EquivalentTo(_plain));
        var check = await containerd.CtrFor(ns).CheckImagesAsync().Bounded();
        Assert.That(check.Select(c => c.Complete && c.Unpacked), Is.All.True);
    }

    [Test]
    public async Task ImportOnce_TgzThatIsNotGzip_ClearError()
    {
        var fake = _dir.Combine("not-really.tgz");
        await File.WriteAllTextAsync(fake, "plain text, not gzip and not a tar");
        var containerd = await SharedContainerd.GetAsync().Bounded();

        var result = await ImageimportdCli.RunAsync(containerd, SharedContainerd.NewNamespace("tgz"), "import-once", fake).Bounded(60);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Stderr, Does.Contain("failed " + fake).And.Contain("bad archive"));
    }
}
