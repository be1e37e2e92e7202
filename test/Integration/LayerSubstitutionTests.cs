using System.Text.Json;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>
/// A node that already has an image's compressed layers (from a pull, or an OCI import it unpacked) then gets the same
/// image as a docker-archive: containerd's importer points the manifest at the compressed substitutes, so the uncompressed
/// layer need not be sent. The image must still be ctr's, byte for byte.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class LayerSubstitutionTests
{
    private TempDirectory _dir = null!;

    [OneTimeSetUp]
    public void SetUp() => _dir = new TempDirectory("twins-");

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task Import_DockerArchiveAfterOciArchiveOfSameImage_SendsNotTheBigLayerAndMatchesCtr()
    {
        // Arrange: one image with a 3 MiB layer, as oci-archive (gzip layers) and as docker-archive (plain layers).
        var (oci, docker) = await BuildArchivesAsync().Bounded(200);
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var theirs = containerd.CtrFor(SharedContainerd.NewNamespace("twins-ctr"));
        var oursNs = SharedContainerd.NewNamespace("twins-ours");
        var ours = containerd.CtrFor(oursNs);
        await theirs.ImportAsync(oci, ["--all-platforms"], CancellationToken.None).Bounded(200);
        await theirs.ImportAsync(docker, ["--all-platforms"], CancellationToken.None).Bounded(200);
        var first = await ImageimportdCli.RunAsync(containerd, oursNs, "import-once", oci).Bounded(200);
        Assert.That(first.ExitCode, Is.EqualTo(0), first.Output);

        // Act
        var second = await ImageimportdCli.RunAsync(containerd, oursNs, "import-once", "--log-format", "json", docker).Bounded(200);

        // Assert
        Assert.That(second.ExitCode, Is.EqualTo(0), second.Output);
        var imported = second.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("Properties"))
            .Single(p => p.TryGetProperty("Outcome", out var o) && o.GetString() == "imported");
        Assert.That(imported.GetProperty("BytesSent").GetInt64(), Is.LessThan(1 << 20), second.Stderr);

        var expected = (await theirs.ListImagesAsync().Bounded()).Single(i => i.Name == "docker.io/library/twins:1");
        var actual = (await ours.ListImagesAsync().Bounded()).Single(i => i.Name == "docker.io/library/twins:1");
        Assert.That(actual.Digest, Is.EqualTo(expected.Digest), "the docker-archive's manifest differs from ctr's");
        foreach (var check in await ours.CheckImagesAsync().Bounded())
        {
            Assert.That(check.Complete, Is.True, $"{check.Name}: {check.Status}");
            Assert.That(check.Unpacked, Is.True, $"{check.Name} is not unpacked");
        }
    }

    private async Task<(string Oci, string Docker)> BuildArchivesAsync()
    {
        var layout = _dir.Combine("layout");
        var bundle = _dir.Combine("bundle");
        var image = $"{layout}:big";
        await Tools.UmociAsync(["init", "--layout", layout], CancellationToken.None);
        await Tools.UmociAsync(["new", "--image", image], CancellationToken.None);
        await Tools.UmociAsync(["unpack", "--image", image, bundle], CancellationToken.None);
        var data = new byte[3 << 20];
        new Random(7).NextBytes(data);
        Directory.CreateDirectory(Path.Combine(bundle, "rootfs", "opt"));
        await File.WriteAllBytesAsync(Path.Combine(bundle, "rootfs", "opt", "big.bin"), data);
        await Tools.UmociAsync(["repack", "--image", image, bundle], CancellationToken.None);
        var oci = _dir.Combine("big-oci.tar");
        var docker = _dir.Combine("big-docker.tar");
        await Tools.SkopeoAsync(["copy", "-q", $"oci:{image}", $"oci-archive:{oci}:docker.io/library/twins:1"], CancellationToken.None);
        await Tools.SkopeoAsync(["copy", "-q", $"oci:{image}", $"docker-archive:{docker}:docker.io/library/twins:1"], CancellationToken.None);
        return (oci, docker);
    }
}
