using Imageimportd.Containerd;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>
/// Without --address or CONTAINERD_ADDRESS, the socket is the first that exists of the upstream default and those of
/// k3s/RKE2, k0s and MicroK8s. The tests move the root those paths are looked for under (IMAGEIMPORTD_SOCKET_ROOT)
/// to a temp directory, and put there a link to the shared containerd's socket.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SocketDiscoveryTests
{
    private TempDirectory _dir = null!;

    [OneTimeSetUp]
    public void SetUp() => _dir = new TempDirectory("sockets-");

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [TestCase("/run/k3s/containerd/containerd.sock", "k3s/RKE2")]
    [TestCase("/run/k0s/containerd.sock", "k0s")]
    [TestCase("/var/snap/microk8s/common/run/containerd.sock", "MicroK8s")]
    public async Task ImportOnce_NoAddressOnlyDistributionSocket_UsesItAndSaysWhich(string socket, string who)
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var root = _dir.Combine(who.Replace('/', '-'));
        var link = Path.Join(root, socket);
        Directory.CreateDirectory(Path.GetDirectoryName(link)!);
        File.CreateSymbolicLink(link, containerd.Address);
        var ns = SharedContainerd.NewNamespace("socket");
        var archive = _dir.Write($"{who.Replace('/', '-')}.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("socket " + who)), "docker.io/library/socket:1"));

        var result = await ImageimportdCli.RunRawAsync(
            ["import-once", "--namespace", ns, "--wait", "5", archive],
            env: new Dictionary<string, string> { ["IMAGEIMPORTD_SOCKET_ROOT"] = root, ["CONTAINERD_ADDRESS"] = "" }).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(result.Stderr, Does.Contain($"using {who}'s containerd socket {link}"));
        Assert.That((await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Select(i => i.Name), Does.Contain("docker.io/library/socket:1"));
    }

    [Test]
    public async Task ImportOnce_NoSocketAnywhere_WaitsForTheDefaultAndNamesIt()
    {
        var root = Directory.CreateDirectory(_dir.Combine("nothing")).FullName;
        var archive = _dir.Write("nothing.tar", [0]);

        var result = await ImageimportdCli.RunRawAsync(
            ["import-once", "--wait", "1", archive],
            env: new Dictionary<string, string> { ["IMAGEIMPORTD_SOCKET_ROOT"] = root, ["CONTAINERD_ADDRESS"] = "" }).Bounded(60);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Stderr, Does.Contain(Path.Join(root, ContainerdOptions.DefaultAddress)).And.Not.Contain("using "));
    }
}
