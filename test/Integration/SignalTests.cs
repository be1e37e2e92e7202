using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Hostile;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>
/// SIGTERM/SIGINT at the awkward moments: while waiting for a containerd whose socket accepts and never answers,
/// and in the middle of an import-once. Each is a shutdown like any other: one line, exit 0, no lease left behind.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SignalTests
{
    private TempDirectory _dir = null!;

    [OneTimeSetUp]
    public void SetUp() => _dir = new TempDirectory("signal-");

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task Watch_SigtermWhileContainerdNeverAnswers_ExitsZero()
    {
        using var silent = SilentSocket(_dir.Combine("watch.sock"));
        var images = Directory.CreateDirectory(_dir.Combine("images-watch")).FullName;
        await using var daemon = DaemonProcess.Start(["watch", "--images", images, "--no-cache", "--address", _dir.Combine("watch.sock")]);
        await daemon.WaitForAsync("waiting for containerd", seconds: 60);

        var (code, _) = await daemon.TerminateAsync(seconds: 30);

        Assert.That(code, Is.EqualTo(0), daemon.Log);
        Assert.That(daemon.Log, Does.Contain("stopped").And.Not.Contain("Unhandled").And.Not.Contain("   at "));
    }

    [Test]
    public async Task ImportOnce_SigtermWhileWaitingForContainerd_ExitsZeroWithOneLine()
    {
        using var silent = SilentSocket(_dir.Combine("once.sock"));
        var file = _dir.Write("never.tar", [0]);
        await using var import = DaemonProcess.Start(["import-once", "--wait", "600", "--address", _dir.Combine("once.sock"), file]);
        await import.WaitForAsync("waiting for containerd", seconds: 60);

        var (code, _) = await import.TerminateAsync(seconds: 30);

        Assert.That(code, Is.EqualTo(0), import.Log);
        Assert.That(import.Count("interrupted by SIGTERM"), Is.EqualTo(1), import.Log);
        Assert.That(import.Log, Does.Not.Contain("Unhandled").And.Not.Contain("   at "));
    }

    [TestCase("TERM")]
    [TestCase("INT")]
    public async Task ImportOnce_SignalMidImport_LogsOneLineAndRemovesItsLease(string signal)
    {
        var big = _dir.Combine($"big-{signal}.tar");
        await ArchiveSurgery.MakeRandomDockerArchiveAsync(big, 300, "docker.io/library/bigsignal:1");
        // A private containerd, frozen (SIGSTOP) once the import holds its lease: the signal then always lands mid-import,
        // however fast this machine imports 300 MB; thawed after it, so the abandoned import can delete its lease.
        await using var containerd = await ContainerdInstance.StartAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("sig" + signal.ToLowerInvariant());
        var ctr = containerd.CtrFor(ns);
        await using var import = DaemonProcess.Start(["import-once", "--address", containerd.Address, "--namespace", ns, big]);
        await ctr.WaitForImportLeaseAsync();

        await KillAsync("STOP", containerd.Pid);
        try
        {
            await KillAsync(signal, import.Pid);
        }
        finally
        {
            await KillAsync("CONT", containerd.Pid);
        }

        var code = await import.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.That(code, Is.EqualTo(0), import.Log);
        Assert.That(import.Count($"interrupted by SIG{signal}: 1 import\\(s\\) abandoned"), Is.EqualTo(1), import.Log);
        Assert.That(await ctr.LeasesAsync().Bounded(), Is.Empty, import.Log);
        Assert.That(await ctr.ListImagesAsync().Bounded(), Is.Empty, "an interrupted import made an image");
    }

    private static async Task KillAsync(string signal, int pid)
    {
        using var kill = Process.Start("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync().Bounded();
    }

    /// <summary>A unix socket that is listening, so connects succeed, but never accepts or answers.</summary>
    private static Socket SilentSocket(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.Listen(16);
        return socket;
    }
}
