using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.HarnessTests;

[TestFixture]
public sealed class ContainerdInstanceTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Test]
    public async Task GetAsync_SharedInstance_CtrVersionAnswers()
    {
        var containerd = await SharedContainerd.GetAsync().WaitAsync(Limit);

        var version = await containerd.CtrFor("default").ServerVersionAsync().WaitAsync(Limit);

        Assert.Multiple(() =>
        {
            // The version under test (IMAGEIMPORTD_TEST_CONTAINERD_BIN), not whatever is on PATH.
            Assert.That(version, Does.StartWith($"{ContainerdInstance.ContainerdVersion.Major}.{ContainerdInstance.ContainerdVersion.Minor}."));
            Assert.That(containerd.IsRunning, Is.True);
            Assert.That(containerd.Pid, Is.GreaterThan(0));
            Assert.That(File.Exists(containerd.Address), Is.True);
            // sun_path limit.
            Assert.That((containerd.Address + ".ttrpc").Length, Is.LessThan(108));
        });
    }

    [Test]
    public async Task GetAsync_SharedInstance_CriPluginOkAndImageNamespaceListable()
    {
        var containerd = await SharedContainerd.GetAsync().WaitAsync(Limit);
        var ctr = containerd.CtrFor("k8s.io");

        var plugins = await ctr.RunAsync(["plugins", "ls"]).WaitAsync(Limit);
        var images = await ctr.ListImagesAsync().WaitAsync(Limit);

        Assert.That(plugins.Split('\n'), Has.Some.Match(@"^io\.containerd\.grpc\.v1\s+cri\s+.*\sok\s*$"));
        Assert.That(images, Is.Not.Null);
    }

    [Test]
    public async Task GetAsync_SharedInstance_NoTcpListenerOutsideLoopback()
    {
        var containerd = await SharedContainerd.GetAsync().WaitAsync(Limit);

        var sockets = await Tools.RunAsync("ss", ["-H", "-ltnp"], CancellationToken.None).WaitAsync(Limit);
        var ours = sockets.Split('\n').Where(l => l.Contains($"pid={containerd.Pid},", StringComparison.Ordinal)).ToList();

        // CRI 1.6 always runs its stream server; the template pins it to loopback.
        Assert.That(ours, Has.All.Contains(" 127.0.0.1:"));
    }

    [Test]
    public async Task StartAsync_SecondInstance_RunsBesideSharedAndCleansUp()
    {
        var shared = await SharedContainerd.GetAsync().WaitAsync(Limit);
        string dir;
        await using (var own = await ContainerdInstance.StartAsync().WaitAsync(Limit))
        {
            dir = own.Dir;
            var ownVersion = await own.CtrFor("default").ServerVersionAsync().WaitAsync(Limit);
            var sharedVersion = await shared.CtrFor("default").ServerVersionAsync().WaitAsync(Limit);

            Assert.Multiple(() =>
            {
                Assert.That(own.Address, Is.Not.EqualTo(shared.Address));
                Assert.That(own.Pid, Is.Not.EqualTo(shared.Pid));
                Assert.That(ownVersion, Is.EqualTo(sharedVersion));
            });
        }

        Assert.Multiple(() =>
        {
            Assert.That(Directory.Exists(dir), Is.False);
            Assert.That(Mounts.Under(dir), Is.Empty);
        });
    }

    [Test]
    public async Task RestartAsync_AfterKill_ImagesSurviveAndServerAnswers()
    {
        using var work = new TempDirectory();
        var archive = await ToolArchives.OciArchiveAsync(work.Path, "docker.io/library/restart:1", CancellationToken.None).WaitAsync(Limit);
        await using var containerd = await ContainerdInstance.StartAsync().WaitAsync(Limit);
        var ctr = containerd.CtrFor("restart");
        await ctr.ImportAsync(archive.Path).WaitAsync(Limit);
        var pidBefore = containerd.Pid;

        containerd.Kill();
        var runningAfterKill = containerd.IsRunning;
        await containerd.RestartAsync().WaitAsync(Limit);
        var images = await ctr.ListImagesAsync().WaitAsync(Limit);

        Assert.Multiple(() =>
        {
            Assert.That(runningAfterKill, Is.False);
            Assert.That(containerd.IsRunning, Is.True);
            Assert.That(containerd.Pid, Is.Not.EqualTo(pidBefore));
            Assert.That(images.Select(i => i.Name), Is.EquivalentTo(new[] { "docker.io/library/restart:1" }));
        });
    }

    [Test]
    public async Task DisposeAsync_KilledWithOverlayMounted_UnmountsAndDeletesDir()
    {
        using var work = new TempDirectory();
        var archive = await ToolArchives.OciArchiveAsync(work.Path, "docker.io/library/mounted:1", CancellationToken.None).WaitAsync(Limit);
        var containerd = await ContainerdInstance.StartAsync().WaitAsync(Limit);
        var dir = containerd.Dir;
        try
        {
            var ctr = containerd.CtrFor("mounted");
            await ctr.ImportAsync(archive.Path).WaitAsync(Limit);
            var target = Directory.CreateDirectory(Path.Combine(dir, "mnt")).FullName;
            await ctr.RunAsync(["images", "mount", "docker.io/library/mounted:1", target]).WaitAsync(Limit);
            Assert.That(Mounts.Under(dir), Does.Contain(target), "overlay should be mounted under the instance dir");
            Assert.That(File.Exists(Path.Combine(target, "usr", "local", "bin", "hello")), Is.True);

            containerd.Kill();
        }
        finally
        {
            await containerd.DisposeAsync().AsTask().WaitAsync(Limit);
        }

        Assert.Multiple(() =>
        {
            Assert.That(Mounts.Under(dir), Is.Empty);
            Assert.That(Directory.Exists(dir), Is.False);
        });
    }

    [Test]
    public async Task LogTail_RunningInstance_ShowsContainerdLog()
    {
        var containerd = await SharedContainerd.GetAsync().WaitAsync(Limit);

        var tail = containerd.LogTail(400);

        Assert.That(tail, Does.Contain("containerd"));
    }

    [Test]
    public void NewNamespace_OddPrefix_ValidAndUnique()
    {
        var a = SharedContainerd.NewNamespace("My Test/Name:1");
        var b = SharedContainerd.NewNamespace("My Test/Name:1");

        Assert.Multiple(() =>
        {
            Assert.That(a, Does.Match(@"^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$"));
            Assert.That(a.Length, Is.LessThanOrEqualTo(76));
            Assert.That(a, Is.Not.EqualTo(b));
        });
    }
}
