using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>The watch daemon end to end: the real binary, a real containerd, real files, real signals.</summary>
[TestFixture]
[NonParallelizable]
public sealed class WatchTests
{
    private TempDirectory _dir = null!;
    private ToolArchive _archive = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _dir = new TempDirectory("watch-");
        _archive = await ToolArchives.DockerArchiveAsync(_dir.Combine("src"), ["docker.io/library/watched:1.0"], CancellationToken.None).Bounded();
    }

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task Watch_SlowCopy_ImportedOnceAndWhole()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-slow");
        await using var daemon = WatchSetup.Start(containerd, ns, images, "--settle", "2");
        await daemon.WaitForAsync("initial import done");

        var bytes = await File.ReadAllBytesAsync(_archive.Path);
        var target = Path.Combine(images, "slow.tar");
        await using (var stream = new FileStream(target, FileMode.Create))
        {
            for (var part = 0; part < 4; part++)
            {
                var size = bytes.Length / 4 + (part == 3 ? bytes.Length % 4 : 0);
                await stream.WriteAsync(bytes.AsMemory(part * (bytes.Length / 4), size));
                await stream.FlushAsync();
                await Task.Delay(700);
            }
        }

        await daemon.WaitForAsync("imported .*slow.tar", seconds: 60);
        await Task.Delay(3000);
        Assert.That(daemon.Count("imported .*slow.tar"), Is.EqualTo(1), daemon.Log);
        Assert.That(daemon.Count("failed"), Is.Zero, daemon.Log);
        Assert.That((await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Select(i => i.Name), Does.Contain("docker.io/library/watched:1.0"));
    }

    [Test]
    public async Task Watch_RenameIntoSubdirectory_Imported()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-rename");
        await using var daemon = WatchSetup.Start(containerd, ns, images);
        await daemon.WaitForAsync("initial import done");

        var sub = Directory.CreateDirectory(Path.Combine(images, "nested", "deeper")).FullName;
        var temp = Path.Combine(sub, ".incoming");
        File.Copy(_archive.Path, temp);
        File.Move(temp, Path.Combine(sub, "app.tar"));

        await daemon.WaitForAsync("imported .*nested/deeper/app.tar");
        Assert.That(daemon.Count("incoming"), Is.Zero, "a dot file must never be imported");
    }

    [Test]
    public async Task Watch_FileDeleted_ImagesUnpinnedNotDeleted()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-unpin");
        var file = Path.Combine(images, "gone.tar");
        File.Copy(_archive.Path, file);
        await using var daemon = WatchSetup.Start(containerd, ns, images);
        await daemon.WaitForAsync("imported .*gone.tar");

        File.Delete(file);

        await daemon.WaitForAsync("unpinned .*gone.tar");
        var image = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Single(i => i.Name == "docker.io/library/watched:1.0");
        Assert.That(image.Labels, Does.Not.ContainKey("io.cri-containerd.pinned"));
    }

    [Test]
    public async Task Watch_DeletedFileWhoseImageAnotherFileSupplies_StaysPinned()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-shared");
        File.Copy(_archive.Path, Path.Combine(images, "one.tar"));
        File.Copy(_archive.Path, Path.Combine(images, "two.tar"));
        await using var daemon = WatchSetup.Start(containerd, ns, images);
        await daemon.WaitForAsync("initial import done");

        File.Delete(Path.Combine(images, "one.tar"));

        await daemon.WaitForAsync("unpinned .*one.tar");
        var image = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Single(i => i.Name == "docker.io/library/watched:1.0");
        Assert.That(image.Labels, Does.ContainKey("io.cri-containerd.pinned"), "two.tar still supplies it");
    }

    [Test]
    public async Task Watch_Restart_UnchangedFilesCauseNoImageEvents()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-restart");
        File.Copy(_archive.Path, Path.Combine(images, "00-a.tar"));
        await using (var first = WatchSetup.Start(containerd, ns, images))
        {
            await first.WaitForAsync("initial import done");
            var (code, _) = await first.TerminateAsync();
            Assert.That(code, Is.Zero, first.Log);
        }

        using var events = Process.Start(new ProcessStartInfo(ContainerdBinaries.Ctr, ["--address", containerd.Address, "events"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
        var eventLines = new StringBuilder();
        events.OutputDataReceived += (_, e) =>
        {
            lock (eventLines)
            {
                eventLines.AppendLine(e.Data);
            }
        };
        events.BeginOutputReadLine();
        await Task.Delay(500);
        try
        {
            await using var second = WatchSetup.Start(containerd, ns, images);
            await second.WaitForAsync(@"initial import done \(0 files imported\)");
            await Task.Delay(1000);
            Assert.That(second.Count(@"\bimported /|re-pinned"), Is.Zero, second.Log);
        }
        finally
        {
            events.Kill();
        }

        lock (eventLines)
        {
            Assert.That(eventLines.ToString(), Does.Not.Contain(ns).Or.Not.Contain("/images/"), eventLines.ToString());
        }
    }

    [Test]
    public async Task Watch_Restart_RepinsOnlyImagesThatLostTheirPin()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-repin");
        File.Copy(_archive.Path, Path.Combine(images, "pinned.tar"));
        await using (var first = WatchSetup.Start(containerd, ns, images))
        {
            await first.WaitForAsync("initial import done");
            await first.TerminateAsync();
        }

        // Someone (kubelet, an operator) removed the pin while the daemon was down.
        await containerd.CtrFor(ns).RunAsync(["images", "label", "docker.io/library/watched:1.0", "io.cri-containerd.pinned="]).Bounded();

        await using var second = WatchSetup.Start(containerd, ns, images);
        await second.WaitForAsync(@"initial import done \(0 files imported\)");
        Assert.That(second.Count("re-pinned docker.io/library/watched:1.0$"), Is.EqualTo(1), second.Log);
        var image = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Single(i => i.Name == "docker.io/library/watched:1.0");
        Assert.That(image.Labels, Does.ContainKey("io.cri-containerd.pinned").WithValue("pinned"));
    }

    [Test]
    public async Task Watch_DirectoryDeletedAndRecreated_KeepsWatching()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-recreate");
        await using var daemon = WatchSetup.Start(containerd, ns, images);
        await daemon.WaitForAsync("initial import done");

        Directory.Delete(images, recursive: true);
        await Task.Delay(3000);
        Directory.CreateDirectory(images);
        File.Copy(_archive.Path, Path.Combine(images, "again.tar"));

        await daemon.WaitForAsync("imported .*again.tar", seconds: 60);
    }

    [Test]
    public async Task Watch_ContainerdStartsLater_WaitsSaysSoOnceThenImports()
    {
        using var dir = new TempDirectory("late-containerd-");
        var images = Directory.CreateDirectory(dir.Combine("images")).FullName;
        File.Copy(_archive.Path, Path.Combine(images, "a.tar"));
        await using var containerd = await ContainerdInstance.StartAsync().Bounded();
        await containerd.StopAsync().Bounded();

        await using var daemon = DaemonProcess.Start(["watch", "--images", images, "--address", containerd.Address, "--namespace", "late", "--settle", "1"]);
        await daemon.WaitForAsync("waiting for containerd");
        await Task.Delay(2000);
        await containerd.RestartAsync().Bounded();

        await daemon.WaitForAsync("imported .*a.tar", seconds: 90);
        Assert.That(daemon.Count("waiting for containerd"), Is.EqualTo(1), daemon.Log);
    }

    [Test]
    public async Task Watch_TagRepointedByNewFile_LogsOldAndNewDigest()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-repoint");
        // The second archive carries a different image under the same tag.
        var other = await ToolArchives.DockerArchiveTwoImagesAsync(_dir.Combine("other-" + ns), "docker.io/library/unused:1", "docker.io/library/watched:1.0", CancellationToken.None).Bounded();
        File.Copy(_archive.Path, Path.Combine(images, "a.tar"));
        await using var daemon = WatchSetup.Start(containerd, ns, images);
        await daemon.WaitForAsync("imported .*a.tar");
        var before = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Single(i => i.Name == "docker.io/library/watched:1.0").Digest;

        File.Copy(other.Path, Path.Combine(images, "b.tar"));

        var line = await daemon.WaitForAsync("re-pointed from", seconds: 60);
        var after = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Single(i => i.Name == "docker.io/library/watched:1.0").Digest;
        Assert.That(after, Is.Not.EqualTo(before));
        Assert.That(line, Does.Contain(before).And.Contain(after));
    }

    [Test]
    public async Task Watch_Sigterm_ExitsZeroWithinBound()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-sigterm");
        File.Copy(_archive.Path, Path.Combine(images, "a.tar"));
        await using var daemon = WatchSetup.Start(containerd, ns, images, "--shutdown-timeout", "5");
        await daemon.WaitForAsync("initial import done");

        var (code, took) = await daemon.TerminateAsync();

        Assert.That(code, Is.Zero, daemon.Log);
        Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(10)));
        Assert.That(await containerd.CtrFor(ns).LeasesAsync().Bounded(), Is.Empty);
        Assert.That(File.Exists(Path.Combine(images, ".cache.json")), Is.True);
    }

    [Test]
    public async Task Watch_NotifySocket_ReadyOnlyAfterInitialImports()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-ready");
        File.Copy(_archive.Path, Path.Combine(images, "boot.tar"));
        var socketPath = _dir.Combine($"notify-{ns}.sock");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(socketPath));

        await using var daemon = WatchSetup.Start(containerd, ns, images, env: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath });
        var buffer = new byte[4096];
        var messages = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (!messages.Any(m => m.Contains("READY=1", StringComparison.Ordinal)))
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            messages.Add(Encoding.UTF8.GetString(buffer, 0, n));
        }

        Assert.That(daemon.Log, Does.Contain("imported " + Path.Combine(images, "boot.tar")), "READY=1 came before the initial import finished");
        Assert.That(messages, Has.Some.StartsWith("STATUS="));
        var (code, _) = await daemon.TerminateAsync();
        Assert.That(code, Is.Zero);
    }

    [Test]
    public async Task Watch_DirectoryCreatedLater_Imports()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-later");
        Directory.Delete(images);
        await using var daemon = WatchSetup.Start(containerd, ns, images);
        await daemon.WaitForAsync("does not exist yet");

        Directory.CreateDirectory(images);
        File.Copy(_archive.Path, Path.Combine(images, "late.tar"));

        await daemon.WaitForAsync("imported .*late.tar", seconds: 60);
    }

    [Test]
    public async Task Watch_BadFile_FailsOnceThenImportsWhenReplaced()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "watch-bad");
        var file = Path.Combine(images, "bad.tar");
        await File.WriteAllTextAsync(file, "this is not an archive");
        await using var daemon = WatchSetup.Start(containerd, ns, images);
        await daemon.WaitForAsync("failed .*bad.tar");
        await Task.Delay(4000);
        Assert.That(daemon.Count("failed .*bad.tar"), Is.EqualTo(1), "a bad file must wait until it changes");

        var temp = Path.Combine(images, ".bad.tmp");
        File.Copy(_archive.Path, temp);
        File.Move(temp, file, overwrite: true);

        await daemon.WaitForAsync("imported .*bad.tar");
    }
}
