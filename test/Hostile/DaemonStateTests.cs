using System.Globalization;
using System.Text;
using System.Text.Json;
using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Hostile;

/// <summary>
/// What the watch daemon's own state can do to a node (issue 9, 10): its cache as hostile input, a cache full of
/// stale entries, thousands of files, a file failing again and again, and pins that must follow the files. Each
/// case has a good archive beside it that must still be imported.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DaemonStateTests
{
    private const string Good = "docker.io/library/good:1";
    private TempDirectory _dir = null!;
    private ToolArchive _good = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _dir = new TempDirectory("daemonstate-");
        _good = await ToolArchives.DockerArchiveAsync(_dir.Combine("src"), [Good], CancellationToken.None).Bounded();
    }

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [TestCase("fifo")]
    [TestCase("/dev/zero")]
    [TestCase("/proc/kmsg")]
    [TestCase("outside")]
    public async Task Watch_HostileCacheFile_WarnsStartsEmptyAndImports(string kind)
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "state-hostilecache");
        File.Copy(_good.Path, Path.Combine(images, "good.tar"));
        var cache = Path.Combine(images, ".cache.json");
        switch (kind)
        {
            case "fifo":
                await Tools.RunAsync("mkfifo", [cache], CancellationToken.None).Bounded();
                break;
            case "outside":
                var outside = _dir.Combine($"outside-{ns}.json");
                await File.WriteAllTextAsync(outside, "{}");
                File.CreateSymbolicLink(cache, outside);
                break;
            default:
                File.CreateSymbolicLink(cache, kind);
                break;
        }

        await using var daemon = WatchSetup.Start(containerd, ns, images);

        await daemon.WaitForAsync("initial import done", seconds: 120);
        Assert.That(daemon.Log, Does.Match(@"import cache .*\.cache\.json is unreadable \(it is (a symbolic link|not a regular file)"));
        Assert.That(daemon.Log, Does.Contain("imported " + Path.Combine(images, "good.tar")));
        var (code, _) = await daemon.TerminateAsync();
        Assert.That(code, Is.Zero, daemon.Log);
        Assert.That(new FileInfo(cache).LinkTarget, Is.Null, "the cache is written as a file of its own, never through a link");
        Assert.That(File.ReadAllText(cache), Does.Contain("good.tar"));
    }

    [Test]
    public async Task Watch_ThousandsOfFiles_CacheWritesBoundedAndRestartCostsNothing()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "state-many");
        File.Copy(_good.Path, Path.Combine(images, "00-good.tar"));
        const int Files = 3000;
        for (var i = 0; i < Files; i++)
        {
            // Empty pull lists: handled without a containerd call, so the cache is all that costs.
            await File.WriteAllTextAsync(Path.Combine(images, $"list-{i:D5}.txt"), "# nothing to pull here\n");
        }

        await using (var first = WatchSetup.Start(containerd, ns, images, "--log-level", "debug"))
        {
            await first.WaitForAsync(@"initial import done \(3001 files imported\)", seconds: 300);
            var (code, _) = await first.TerminateAsync();
            Assert.That(code, Is.Zero, first.Log);
            // One write per file before; now one per second at most, one at the end of the pass, one at shutdown.
            Assert.That(first.Count("cache written"), Is.InRange(1, Files / 20), first.Log);
        }

        using var cache = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(images, ".cache.json")));
        Assert.That(cache.RootElement.EnumerateObject().Count(), Is.EqualTo(Files + 1));

        await using var second = WatchSetup.Start(containerd, ns, images, "--log-level", "debug");
        await second.WaitForAsync(@"initial import done \(0 files imported\)", seconds: 300);
        await second.TerminateAsync();
        Assert.That(second.Count("cache written"), Is.Zero, "nothing changed, nothing written");
    }

    [Test]
    public async Task Watch_HugeCacheOfStaleEntries_HandledInBulkForeignPinKept()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "state-stale");
        var ctr = containerd.CtrFor(ns);
        // Two images for missing files: one this daemon pinned, one pinned by someone else (a system image).
        await ctr.ImportAsync(_good.Path, "--index-name", "docker.io/library/ours:1");
        await ctr.ImportAsync(_good.Path, "--index-name", "docker.io/library/system:1");
        await ctr.RunAsync(["images", "label", "docker.io/library/ours:1", "io.cri-containerd.pinned=pinned", "io.imageimportd.pinned=true"]);
        await ctr.RunAsync(["images", "label", "docker.io/library/system:1", "io.cri-containerd.pinned=pinned"]);
        const int Stale = 200_000;
        var json = new StringBuilder("{");
        for (var i = 0; i < Stale; i++)
        {
            json.Append(CultureInfo.InvariantCulture, $"\"{images}/gone/{i:D7}.tar\":{{\"size\":{i},\"modTime\":\"2024-05-01T10:00:00Z\",\"images\":[\"docker.io/library/stale-{i}:1\"]}},");
        }

        json.Append(CultureInfo.InvariantCulture, $"\"{images}/ours.tar\":{{\"size\":1,\"modTime\":\"2024-05-01T10:00:00Z\",\"images\":[\"docker.io/library/ours:1\"]}},");
        json.Append(CultureInfo.InvariantCulture, $"\"{images}/system.tar\":{{\"size\":1,\"modTime\":\"2024-05-01T10:00:00Z\",\"images\":[\"docker.io/library/system:1\"]}}}}");
        await File.WriteAllTextAsync(Path.Combine(images, ".cache.json"), json.ToString());
        File.Copy(_good.Path, Path.Combine(images, "good.tar"));

        await using var daemon = WatchSetup.Start(containerd, ns, images, "--log-level", "debug");

        await daemon.WaitForAsync("initial import done", seconds: 300);
        await daemon.WaitForAsync($"forgot {Stale + 2} cache entries", seconds: 120);
        var all = await ctr.ListImagesAsync().Bounded();
        Assert.That(all.Single(i => i.Name == "docker.io/library/system:1").Labels, Does.ContainKey("io.cri-containerd.pinned"), "never pinned by imageimportd, never unpinned by it");
        Assert.That(all.Single(i => i.Name == "docker.io/library/ours:1").Labels, Does.Not.ContainKey("io.cri-containerd.pinned").And.Not.ContainKey("io.imageimportd.pinned"));
        Assert.That(all.Single(i => i.Name == Good).Labels, Does.ContainKey("io.cri-containerd.pinned").WithValue("pinned").And.ContainKey("io.imageimportd.pinned"));
        var (code, _) = await daemon.TerminateAsync();
        Assert.That(code, Is.Zero, daemon.Log);
        using var cache = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(images, ".cache.json")));
        Assert.That(cache.RootElement.EnumerateObject().Select(e => Path.GetFileName(e.Name)), Is.EqualTo(new[] { "good.tar" }));
    }

    [Test]
    public async Task Watch_MissingFileNamingForeignPinnedImage_NotUnpinned()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "state-foreign");
        var ctr = containerd.CtrFor(ns);
        await ctr.ImportAsync(_good.Path, "--index-name", "docker.io/library/pause:3");
        await ctr.RunAsync(["images", "label", "docker.io/library/pause:3", "io.cri-containerd.pinned=pinned"]);
        await File.WriteAllTextAsync(Path.Combine(images, ".cache.json"),
            $"{{\"{images}/pause.tar\":{{\"size\":1,\"modTime\":\"2024-05-01T10:00:00Z\",\"images\":[\"docker.io/library/pause:3\"]}}}}");
        File.Copy(_good.Path, Path.Combine(images, "good.tar"));

        await using var daemon = WatchSetup.Start(containerd, ns, images);

        await daemon.WaitForAsync("unpinned .*pause.tar", seconds: 120);
        await daemon.WaitForAsync("imported .*good.tar", seconds: 120);
        var pause = (await ctr.ListImagesAsync().Bounded()).Single(i => i.Name == "docker.io/library/pause:3");
        Assert.That(pause.Labels, Does.ContainKey("io.cri-containerd.pinned").WithValue("pinned"));
    }

    [Test]
    public async Task Watch_FileRebuiltRetaggedThenDeleted_PinsFollowItsImages()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "state-follow");
        var ctr = containerd.CtrFor(ns);
        var v1 = _dir.Combine($"v1-{ns}.tar");
        var rebuilt = _dir.Combine($"rebuilt-{ns}.tar");
        var v2 = _dir.Combine($"v2-{ns}.tar");
        await ArchiveSurgery.MakeRandomDockerArchiveAsync(v1, 1, "docker.io/library/app:1.0");
        await ArchiveSurgery.MakeRandomDockerArchiveAsync(rebuilt, 1, "docker.io/library/app:1.0");
        await ArchiveSurgery.MakeRandomDockerArchiveAsync(v2, 1, "docker.io/library/app:2.0");
        File.Copy(_good.Path, Path.Combine(images, "good.tar"));
        var app = Path.Combine(images, "app.tar");
        File.Copy(v1, app);
        await using var daemon = WatchSetup.Start(containerd, ns, images);
        await daemon.WaitForAsync("initial import done", seconds: 120);
        var first = await PinnedAsync(ctr);
        var v1Digest = first.Single(n => n.StartsWith("docker.io/library/app@", StringComparison.Ordinal));

        Replace(rebuilt, app);
        await daemon.WaitForAsync(@"app\.tar: unpinned .*which it no longer supplies", seconds: 60);
        var second = await PinnedAsync(ctr);
        Assert.That(second, Does.Contain("docker.io/library/app:1.0").And.Not.Contain(v1Digest), "the old digest is no longer supplied");
        var rebuiltDigest = second.Single(n => n.StartsWith("docker.io/library/app@", StringComparison.Ordinal));

        var skip = daemon.LineCount;
        Replace(v2, app);
        await daemon.WaitForAsync(@"app\.tar: unpinned .*which it no longer supplies", skip, seconds: 60);
        var third = await PinnedAsync(ctr);
        Assert.That(third, Does.Contain("docker.io/library/app:2.0").And.Not.Contain("docker.io/library/app:1.0").And.Not.Contain(rebuiltDigest));

        File.Delete(app);
        await daemon.WaitForAsync(@"unpinned .*app\.tar", daemon.LineCount, seconds: 60);
        var last = await PinnedAsync(ctr);
        Assert.That(last.Where(n => n.StartsWith("docker.io/library/app", StringComparison.Ordinal)), Is.Empty, string.Join(", ", last));
        Assert.That(last, Does.Contain(Good), "the good archive beside it keeps its pin");
        Assert.That((await ctr.ListImagesAsync().Bounded()).Select(i => i.Name), Does.Contain("docker.io/library/app:2.0"), "unpinned, never deleted");
    }

    [Test]
    public async Task Watch_K3sCacheInWholeSeconds_MatchedLearntOnceWithoutResendingThenUnchanged()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "state-k3s");
        var ctr = containerd.CtrFor(ns);
        var file = Path.Combine(images, "from-k3s.tar");
        File.Copy(_good.Path, file);
        // As k3s left it: imported by containerd's importer, cached with a whole-second modTime; the file's own mtime
        // has a sub-second part (cp, a download).
        await Tools.RunAsync("touch", ["-d", "@1714557600.734120001", file], CancellationToken.None).Bounded();
        await ctr.ImportAsync(file);
        var size = new FileInfo(file).Length;
        await File.WriteAllTextAsync(Path.Combine(images, ".cache.json"), $"{{\"{file}\":{{\"size\":{size},\"modTime\":\"2024-05-01T10:00:00Z\"}}}}");
        File.Copy(_good.Path, Path.Combine(images, "other.tar"));
        await Tools.RunAsync("touch", ["-d", "@1714557600.5", Path.Combine(images, "other.tar")], CancellationToken.None).Bounded();

        await using (var first = WatchSetup.Start(containerd, ns, images, "--log-format", "json"))
        {
            await first.WaitForAsync("initial import done", seconds: 120);
            await first.TerminateAsync();
            Assert.That(first.Log, Does.Contain("from-k3s.tar: its cache entry comes from k3s"), "the whole-second entry matched the file");
            Assert.That(first.Log, Does.Not.Contain("other.tar: its cache entry comes from k3s"));
            var line = first.Log.Split('\n').Single(l => l.Contains("\"BytesSent\"", StringComparison.Ordinal) && l.Contains("from-k3s.tar", StringComparison.Ordinal));
            using var json = JsonDocument.Parse(line);
            Assert.That(json.RootElement.GetProperty("Properties").GetProperty("BytesSent").GetInt64(), Is.LessThan(size / 4), "content containerd has is not sent again: " + line);
        }

        var text = await File.ReadAllTextAsync(Path.Combine(images, ".cache.json"));
        using (var cache = JsonDocument.Parse(text))
        {
            Assert.That(cache.RootElement.TryGetProperty(file, out var entry) && entry.TryGetProperty("images", out _), Is.True, text);
            Assert.That(entry.GetProperty("images").EnumerateArray().Select(i => i.GetString()), Does.Contain(Good));
        }

        await using var second = WatchSetup.Start(containerd, ns, images);
        await second.WaitForAsync(@"initial import done \(0 files imported\)", seconds: 120);
    }

    [Test]
    public async Task Watch_K3sEntryWhoseImageVanished_ImportedAgain()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "state-k3sgone");
        var file = Path.Combine(images, "a.tar");
        File.Copy(_good.Path, file);
        await Tools.RunAsync("touch", ["-d", "@1714557600", file], CancellationToken.None).Bounded();
        await File.WriteAllTextAsync(Path.Combine(images, ".cache.json"), $"{{\"{file}\":{{\"size\":{new FileInfo(file).Length},\"modTime\":\"2024-05-01T10:00:00Z\"}}}}");

        await using var daemon = WatchSetup.Start(containerd, ns, images);

        await daemon.WaitForAsync("initial import done", seconds: 120);
        Assert.That((await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Select(i => i.Name), Does.Contain(Good));
    }

    [Test]
    public async Task Watch_ArchiveFillingContainerdDisk_BackoffGrowsAcrossScansGoodArchiveImported()
    {
        using var dir = new TempDirectory("fullwatch-");
        var sandbox = dir.Combine("c");
        Directory.CreateDirectory(Path.Combine(sandbox, "root"));
        // containerd's root on a 24 MiB tmpfs; big.tar needs more, good.tar fits.
        await Tools.RunAsync("mount", ["-t", "tmpfs", "-o", "size=24m", "tmpfs", Path.Combine(sandbox, "root")], CancellationToken.None).Bounded();
        var script = Path.Combine(RepoPaths.Root, "scripts", "containerd-sandbox.sh");
        try
        {
            var socket = (await Tools.RunAsync("bash", [script, "start", sandbox], TimeSpan.FromSeconds(60), CancellationToken.None).Bounded()).Trim().Split('\n')[^1];
            var images = Directory.CreateDirectory(dir.Combine("images")).FullName;
            File.Copy(_good.Path, Path.Combine(images, "00-good.tar"));
            await ArchiveSurgery.MakeRandomDockerArchiveAsync(Path.Combine(images, "big.tar"), 48, "docker.io/library/big:1");

            // A scan every second: before, each scan that met the file in flight reset its backoff to 1 s.
            await using var daemon = DaemonProcess.Start(["watch", "--images", images, "--address", socket, "--namespace", "full", "--settle", "1", "--scan-interval", "1"]);
            await daemon.WaitForAsync("imported .*00-good.tar", seconds: 120);
            for (var n = 1; n <= 5; n++)
            {
                await WaitForCountAsync(daemon, "failed .*big.tar", n, seconds: 180);
            }

            var times = daemon.Log.Split('\n').Where(l => l.Contains("failed", StringComparison.Ordinal) && l.Contains("big.tar", StringComparison.Ordinal))
                .Select(l => DateTimeOffset.Parse(l[..l.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture)).ToList();
            // Backoffs 1, 2, 4, 8 s: the gap before the fifth failure is at least 8 s, however many scans passed.
            Assert.That(times[4] - times[3], Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(8)), daemon.Log);
            Assert.That(daemon.Log, Does.Contain("no space left on device"));
            var (code, _) = await daemon.TerminateAsync();
            Assert.That(code, Is.Zero, daemon.Log);
        }
        finally
        {
            await Tools.RunUncheckedAsync("bash", [script, "stop", sandbox], TimeSpan.FromSeconds(60), CancellationToken.None);
            await Tools.RunUncheckedAsync("umount", ["-l", Path.Combine(sandbox, "root")], TimeSpan.FromSeconds(30), CancellationToken.None);
        }
    }

    private static async Task WaitForCountAsync(DaemonProcess daemon, string pattern, int count, int seconds)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        while (daemon.Count(pattern) < count)
        {
            await Task.Delay(200, timeout.Token);
        }
    }

    private static void Replace(string source, string target)
    {
        var temp = Path.Combine(Path.GetDirectoryName(target)!, ".incoming");
        File.Copy(source, temp, overwrite: true);
        File.Move(temp, target, overwrite: true);
    }

    private static async Task<List<string>> PinnedAsync(Ctr ctr) =>
        (await ctr.ListImagesAsync().Bounded()).Where(i => i.Labels.ContainsKey("io.cri-containerd.pinned")).Select(i => i.Name).ToList();
}
