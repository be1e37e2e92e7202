using System.Text.Json;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>The rest of the daemon's contract: pull lists it finds, the cache verbs, and what it warns about or exposes.</summary>
[TestFixture]
[NonParallelizable]
public sealed class DaemonExtrasTests
{
    [Test]
    public async Task Watch_PullListInDirectory_PulledThroughCriAndPinned()
    {
        using var work = new TempDirectory("watchpull-");
        var layout = await ToolArchives.SourceLayoutAsync(work.Combine("src"), CancellationToken.None).Bounded();
        await using var registry = await LocalRegistry.StartAsync().Bounded();
        var reference = await registry.PushAsync(layout, ToolArchives.BaseTag, "watchpull/app:1").Bounded();
        // A private containerd: CRI pulls land in its k8s.io namespace and stay pinned there.
        await using var containerd = await ContainerdInstance.StartAsync().Bounded();
        registry.ConfigureContainerdMirror(containerd);
        var images = Directory.CreateDirectory(work.Combine("images")).FullName;
        await File.WriteAllTextAsync(Path.Combine(images, "node.txt"), $"# what this node runs\n{reference}\nnot a reference\n");

        await using var daemon = DaemonProcess.Start(["watch", "--images", images, "--address", containerd.Address, "--settle", "1", "--scan-interval", "2"]);
        await daemon.WaitForAsync("initial import done", seconds: 120);

        Assert.That(daemon.Log, Does.Contain("pulled " + reference));
        Assert.That(daemon.Log, Does.Match(@"node\.txt:3: .*skipped"), "the invalid line must be reported with its line number");
        var image = (await containerd.CtrFor("k8s.io").ListImagesAsync().Bounded()).Single(i => i.Name == reference);
        Assert.That(image.Labels, Does.ContainKey("io.cri-containerd.pinned").WithValue("pinned"));
        var (code, _) = await daemon.TerminateAsync();
        Assert.That(code, Is.Zero);
    }

    [Test]
    public async Task CacheVerbs_AfterWatch_ShowEntriesAndPruneGoneFiles()
    {
        using var work = new TempDirectory("cacheverbs-");
        var archive = await ToolArchives.DockerArchiveAsync(work.Combine("src"), ["docker.io/library/cached:1"], CancellationToken.None).Bounded();
        var images = Directory.CreateDirectory(work.Combine("images")).FullName;
        var file = Path.Combine(images, "a.tar");
        File.Copy(archive.Path, file);
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("cacheverbs");
        await using (var daemon = DaemonProcess.Start(["watch", "--images", images, "--address", containerd.Address, "--namespace", ns, "--settle", "1"]))
        {
            await daemon.WaitForAsync("initial import done", seconds: 120);
            await daemon.TerminateAsync();
        }

        var show = await ImageimportdCli.RunRawAsync(["cache", "show", "--json", "--images", images]).Bounded();
        File.Delete(file);
        var prune = await ImageimportdCli.RunRawAsync(["cache", "prune", "--images", images]).Bounded();
        var after = await ImageimportdCli.RunRawAsync(["cache", "show", "--json", "--images", images]).Bounded();

        Assert.That(show.ExitCode, Is.Zero, show.Output);
        using var json = JsonDocument.Parse(show.Stdout);
        var entry = json.RootElement.EnumerateArray().Single();
        Assert.That(entry.GetProperty("file").GetString(), Is.EqualTo(file));
        Assert.That(entry.GetProperty("size").GetInt64(), Is.EqualTo(new FileInfo(archive.Path).Length));
        Assert.That(entry.GetProperty("images").EnumerateArray().Select(i => i.GetString()), Does.Contain("docker.io/library/cached:1"));
        Assert.That(prune.ExitCode, Is.Zero, prune.Output);
        Assert.That(prune.Stdout, Does.Contain("pruned " + file));
        Assert.That(JsonDocument.Parse(after.Stdout).RootElement.GetArrayLength(), Is.Zero);
    }

    [Test]
    public async Task Watch_DirectoryWritableByOthers_WarnsAndOpensNoListeningSocket()
    {
        using var work = new TempDirectory("security-");
        var images = Directory.CreateDirectory(work.Combine("images")).FullName;
        File.SetUnixFileMode(images, (UnixFileMode)0x1ff);
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("security");

        await using var daemon = DaemonProcess.Start(["watch", "--images", images, "--address", containerd.Address, "--namespace", ns, "--settle", "1"]);
        await daemon.WaitForAsync("initial import done", seconds: 60);

        Assert.That(daemon.Log, Does.Contain("writable by group or others"));
        var sockets = await Tools.RunAsync("ss", ["-lnpxt"], CancellationToken.None).Bounded();
        Assert.That(sockets.Split('\n').Where(l => l.Contains($"pid={daemon.Pid},", StringComparison.Ordinal)), Is.Empty, sockets);
    }
}
