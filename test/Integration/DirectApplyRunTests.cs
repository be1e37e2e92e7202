using System.Formats.Tar;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>
/// An image unpacked by <c>--unpack-via direct</c> runs under runc (<c>ctr run</c>, containerd's runc shim) exactly as
/// the same image unpacked by containerd's Diff service: a statically linked busybox (Debian's busybox-static, from
/// scripts/install-deps.sh) in the first layer, a file replaced and one deleted by the second.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DirectApplyRunTests
{
    private const string Busybox = "/bin/busybox";

    private TempDirectory _dir = null!;

    [OneTimeSetUp]
    public void SetUp() => _dir = new TempDirectory("direct-run-");

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [TestCase("direct")]
    [TestCase("diff")]
    public async Task UnpackVia_BusyboxImage_RunsUnderRunc(string via)
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("run-" + via);
        var reference = "docker.io/library/direct-run:" + via;
        var archive = _dir.Write(via + ".tar", new OciLayoutBuilder().Add(BusyboxImage(), refName: reference).Build());

        var import = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--unpack-via", via, archive).Bounded(300);
        Assert.That(import.ExitCode, Is.EqualTo(0), import.Output);

        var ctr = containerd.CtrFor(ns);
        var id = "run-" + Guid.NewGuid().ToString("N")[..12];
        var output = await ctr.RunAsync(["run", "--rm", "--snapshotter", "overlayfs", reference, id, Busybox, "sh", "-c", "echo ok; cat /etc/greeting; ls /etc; id -u"]).Bounded(180);

        Assert.That(output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), Is.EqualTo(new[] { "ok", "second layer", "greeting", "0" }));
    }

    /// <summary>Layer 1: /bin/busybox, /bin/sh, /etc/greeting, /etc/gone; layer 2: a new /etc/greeting, /etc/gone whited out.</summary>
    private static TestImage BusyboxImage()
    {
        Assert.That(File.Exists(Busybox), $"{Busybox} missing: scripts/install-deps.sh installs busybox-static");
        var first = new TarBuilder(TarEntryFormat.Pax)
            .Directory("bin")
            .File("bin/busybox", File.ReadAllBytes(Busybox), (UnixFileMode)0x1ED)
            .Symlink("bin/sh", "busybox")
            .Directory("etc")
            .File("etc/greeting", "first layer\n")
            .File("etc/gone", "deleted by the second layer\n")
            .Directory("tmp", (UnixFileMode)0x3FF)
            .ToArray();
        var second = new TarBuilder(TarEntryFormat.Pax)
            .Directory("etc")
            .File("etc/greeting", "second layer\n")
            .Whiteout("etc/gone")
            .ToArray();
        return ImageBuilder.Image(Platform.Host, [ImageBuilder.FromTar(first, gzip: true), ImageBuilder.FromTar(second, gzip: false)], diffIds: null);
    }
}
