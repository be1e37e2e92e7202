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
    public async Task CacheVerbs_AfterWatch_ShowEntriesAndPruneGoneFilesAndUnpinTheirImages()
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
        var pinnedBefore = await PinLabelsAsync(containerd, ns, "docker.io/library/cached:1");
        var prune = await ImageimportdCli.RunRawAsync(["cache", "prune", "--images", images, "--address", containerd.Address, "--namespace", ns]).Bounded();
        var after = await ImageimportdCli.RunRawAsync(["cache", "show", "--json", "--images", images]).Bounded();
        var pinnedAfter = await PinLabelsAsync(containerd, ns, "docker.io/library/cached:1");

        Assert.That(show.ExitCode, Is.Zero, show.Output);
        using var json = JsonDocument.Parse(show.Stdout);
        var entry = json.RootElement.EnumerateArray().Single();
        Assert.That(entry.GetProperty("file").GetString(), Is.EqualTo(file));
        Assert.That(entry.GetProperty("size").GetInt64(), Is.EqualTo(new FileInfo(archive.Path).Length));
        Assert.That(entry.GetProperty("images").EnumerateArray().Select(i => i.GetString()), Does.Contain("docker.io/library/cached:1"));
        Assert.That(prune.ExitCode, Is.Zero, prune.Output);
        Assert.That(prune.Stdout, Does.Contain("pruned " + file));
        Assert.That(JsonDocument.Parse(after.Stdout).RootElement.GetArrayLength(), Is.Zero);
        Assert.That(pinnedBefore, Is.EquivalentTo(new[] { "io.cri-containerd.pinned", "io.imageimportd.pinned" }));
        Assert.That(prune.Stdout, Does.Contain("unpinned docker.io/library/cached:1"));
        Assert.That(pinnedAfter, Is.Empty, "the image only the pruned file supplied must lose the daemon's pin");
    }

    [Test]
    public async Task CachePrune_ImageStillSuppliedOrKeepPins_PinsStay()
    {
        using var work = new TempDirectory("cacheprunepins-");
        const string Image = "docker.io/library/cached-twice:1";
        var archive = await ToolArchives.DockerArchiveAsync(work.Combine("src"), [Image], CancellationToken.None).Bounded();
        var images = Directory.CreateDirectory(work.Combine("images")).FullName;
        var first = Path.Combine(images, "a.tar");
        var second = Path.Combine(images, "b.tar");
        File.Copy(archive.Path, first);
        File.Copy(archive.Path, second);
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("cacheprunepins");
        await using (var daemon = DaemonProcess.Start(["watch", "--images", images, "--address", containerd.Address, "--namespace", ns, "--settle", "1"]))
        {
            await daemon.WaitForAsync("initial import done", seconds: 120);
            await daemon.TerminateAsync();
        }

        File.Delete(first);
        var stillSupplied = await ImageimportdCli.RunRawAsync(["cache", "prune", "--images", images, "--address", containerd.Address, "--namespace", ns]).Bounded();
        var pinsWhileSupplied = await PinLabelsAsync(containerd, ns, Image);
        File.Delete(second);
        var keepPins = await ImageimportdCli.RunRawAsync(["cache", "prune", "--keep-pins", "--images", images, "--address", containerd.Address, "--namespace", ns]).Bounded();
        var pinsKept = await PinLabelsAsync(containerd, ns, Image);
        var after = await ImageimportdCli.RunRawAsync(["cache", "show", "--json", "--images", images]).Bounded();

        Assert.That(stillSupplied.ExitCode, Is.Zero, stillSupplied.Output);
        Assert.That(stillSupplied.Stdout, Does.Contain("pruned " + first).And.Not.Contain("unpinned"));
        Assert.That(pinsWhileSupplied, Is.EquivalentTo(new[] { "io.cri-containerd.pinned", "io.imageimportd.pinned" }), "b.tar still supplies the image");
        Assert.That(keepPins.ExitCode, Is.Zero, keepPins.Output);
        Assert.That(keepPins.Stdout, Does.Contain("pruned " + second).And.Not.Contain("unpinned"));
        Assert.That(pinsKept, Is.EquivalentTo(new[] { "io.cri-containerd.pinned", "io.imageimportd.pinned" }), "--keep-pins only forgets");
        Assert.That(JsonDocument.Parse(after.Stdout).RootElement.GetArrayLength(), Is.Zero);
    }

    private static async Task<IReadOnlyList<string>> PinLabelsAsync(ContainerdInstance containerd, string ns, string name)
    {
        var image = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Single(i => i.Name == name);
        return [.. image.Labels.Keys.Where(k => k is "io.cri-containerd.pinned" or "io.imageimportd.pinned").Order(StringComparer.Ordinal)];
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
