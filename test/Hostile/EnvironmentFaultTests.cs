using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Hostile;

/// <summary>The node's environment failing: containerd's disk full, the images directory read-only.</summary>
[TestFixture]
[NonParallelizable]
public sealed class EnvironmentFaultTests
{
    [Test]
    public async Task ImportOnce_ContainerdDiskFull_ClearErrorNoImage()
    {
        using var dir = new TempDirectory("full-");
        var sandbox = dir.Combine("c");
        Directory.CreateDirectory(Path.Combine(sandbox, "root"));
        // containerd's root on a 24 MiB tmpfs; the archive below needs more.
        await Tools.RunAsync("mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", Path.Combine(sandbox, "root")], CancellationToken.None).Bounded();
        var script = Path.Combine(RepoPaths.Root, "scripts", "containerd-sandbox.sh");
        try
        {
            var socket = (await Tools.RunAsync("bash", [script, "start", sandbox], TimeSpan.FromSeconds(60), CancellationToken.None).Bounded()).Trim().Split('\n')[^1];
            var archive = dir.Combine("big.tar");
            await ArchiveSurgery.MakeRandomDockerArchiveAsync(archive, 48, "docker.io/library/full:1");

            var result = await ImageimportdCli.RunRawAsync(["import-once", "--address", socket, "--namespace", "full", "--wait", "5", archive], TimeSpan.FromSeconds(120)).Bounded(150);

            Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
            Assert.That(result.Stderr, Does.Contain("no space left on device"));
            var ctr = new Ctr(socket, "full");
            Assert.That(await ctr.ListImagesAsync().Bounded(), Is.Empty);
            Assert.That(await ctr.LeasesAsync().Bounded(), Is.Empty);
        }
        finally
        {
            await Tools.RunUncheckedAsync("bash", [script, "stop", sandbox], TimeSpan.FromSeconds(60), CancellationToken.None);
            await Tools.RunUncheckedAsync("umount", ["-l", Path.Combine(sandbox, "root")], TimeSpan.FromSeconds(30), CancellationToken.None);
        }
    }

    [Test]
    public async Task Watch_ReadOnlyImagesDirectory_OneWarningImportsGoOn()
    {
        using var dir = new TempDirectory("ro-");
        var images = Directory.CreateDirectory(dir.Combine("images")).FullName;
        var source = await ToolArchives.DockerArchiveAsync(dir.Combine("src"), ["docker.io/library/readonly:1"], CancellationToken.None).Bounded();
        File.Copy(source.Path, Path.Combine(images, "a.tar"));
        File.Copy(source.Path, Path.Combine(images, "b.tar"));
        // A read-only bind mount: even root cannot write the cache there.
        await Tools.RunAsync("mount", ["--bind", images, images], CancellationToken.None).Bounded();
        try
        {
            await Tools.RunAsync("mount", ["-o", "remount,ro,bind", images], CancellationToken.None).Bounded();
            var containerd = await SharedContainerd.GetAsync().Bounded();
            var ns = SharedContainerd.NewNamespace("readonly");
            await using var daemon = DaemonProcess.Start(["watch", "--images", images, "--address", containerd.Address, "--namespace", ns, "--settle", "1", "--scan-interval", "2"]);

            await daemon.WaitForAsync("initial import done", seconds: 120);
            await Task.Delay(3000);

            Assert.That(daemon.Count("cannot write the import cache"), Is.EqualTo(1), daemon.Log);
            Assert.That(daemon.Count(@"\b(imported|unchanged) /"), Is.EqualTo(2), daemon.Log);
            var (code, _) = await daemon.TerminateAsync();
            Assert.That(code, Is.Zero, daemon.Log);
        }
        finally
        {
            await Tools.RunUncheckedAsync("umount", ["-l", images], TimeSpan.FromSeconds(30), CancellationToken.None);
        }
    }
}
