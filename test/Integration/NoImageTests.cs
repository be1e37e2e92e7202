using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>
/// A file that yields no image at all (an OCI index naming no manifest, or only manifests the archive lacks) is a
/// failure beside a good archive: an error line naming the file and the cause, exit 1 from import-once, and watch
/// does not cache it as imported.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class NoImageTests
{
    private TempDirectory _dir = null!;

    [OneTimeSetUp]
    public void SetUp() => _dir = new TempDirectory("noimage-");

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [TestCase("empty-index", TestName = "ImportOnce_IndexNamingNoManifest_FailsBesideGoodArchive")]
    [TestCase("missing-manifest", TestName = "ImportOnce_IndexNamingOnlyMissingManifests_FailsBesideGoodArchive")]
    public async Task ImportOnce_NoImage_Fails(string shape)
    {
        var images = Directory.CreateDirectory(_dir.Combine("once-" + shape)).FullName;
        var bad = WriteNoImageArchive(images, shape);
        var good = WriteGoodArchive(images, "docker.io/library/noimage-good:" + shape);
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("noimage");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--images", images).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Stderr, Does.Match($"failed {bad.Replace(".", "\\.")}: .*yields no image"));
        Assert.That(result.Stderr, Does.Contain("imported " + good));
        var names = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Select(i => i.Name);
        Assert.That(names, Does.Contain("docker.io/library/noimage-good:" + shape));
    }

    [Test]
    public async Task Watch_IndexNamingNoManifest_NotCachedAsImported()
    {
        var images = Directory.CreateDirectory(_dir.Combine("watch")).FullName;
        var bad = WriteNoImageArchive(images, "empty-index");
        var good = WriteGoodArchive(images, "docker.io/library/noimage-watch:1");
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("noimagew");

        await using (var daemon = DaemonProcess.Start(["watch", "--images", images, "--address", containerd.Address, "--namespace", ns, "--settle", "0"]))
        {
            await daemon.WaitForAsync($"failed {bad.Replace(".", "\\.")}: .*yields no image", seconds: 120);
            await daemon.WaitForAsync("imported " + good.Replace(".", "\\."), seconds: 120);
            var (code, _) = await daemon.TerminateAsync();
            Assert.That(code, Is.EqualTo(0), daemon.Log);
        }

        var cache = await File.ReadAllTextAsync(Path.Combine(images, ".cache.json")).Bounded();
        Assert.That(cache, Does.Contain(Path.GetFileName(good)).And.Not.Contain(Path.GetFileName(bad)));
    }

    private static string WriteNoImageArchive(string dir, string shape)
    {
        var path = Path.Combine(dir, "a-" + shape + ".tar");
        var builder = new OciLayoutBuilder();
        if (shape == "missing-manifest")
        {
            var image = ImageBuilder.Image(ImageBuilder.Layer("noimage " + shape));
            builder.Add(image, imageName: "docker.io/library/noimage-missing:1").Omit(image.ManifestDigest);
        }

        File.WriteAllBytes(path, builder.Build());
        return path;
    }

    private static string WriteGoodArchive(string dir, string name)
    {
        var path = Path.Combine(dir, "b-good.tar");
        File.WriteAllBytes(path, ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("noimage good " + name)), name));
        return path;
    }
}
