using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Hostile;

/// <summary>
/// What the images directory itself can hold: files whose reads never end, FIFOs, directory loops, paths deeper
/// or longer than the kernel takes, names that are not UTF-8 or carry newlines. Each beside a good archive that
/// must still import, through the real binary and a real containerd.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class FileSystemTests
{
    private const string Good = "docker.io/library/fs-good:1.0";
    private TempDirectory _dir = null!;
    private ToolArchive _good = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _dir = new TempDirectory("fs-hostile-");
        _good = await ToolArchives.DockerArchiveAsync(_dir.Combine("src"), [Good], CancellationToken.None).Bounded();
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        // Paths longer than PATH_MAX defeat Directory.Delete; rm walks them relative to each directory.
        Sh($"rm -rf '{_dir.Path}'");
        _dir.Dispose();
    }

    [Test]
    public async Task Watch_LinksToProcKmsg_ReadyAndStopsOnSigterm()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "fs-kmsg");
        File.CreateSymbolicLink(Path.Combine(images, "a-kmsg.tar"), "/proc/kmsg");
        File.CreateSymbolicLink(Path.Combine(images, "b-kmsg.tar"), "/proc/kmsg");
        File.Copy(_good.Path, Path.Combine(images, "c-good.tar"));

        await using var daemon = WatchSetup.Start(containerd, ns, images, "--parallel", "2");
        await daemon.WaitForAsync("initial import done", seconds: 120);
        var (exit, _) = await daemon.TerminateAsync(seconds: 60);

        Assert.That(exit, Is.EqualTo(0), daemon.Log);
        Assert.That(daemon.Log, Does.Contain("imported " + Path.Combine(images, "c-good.tar")));
        Assert.That(daemon.Count("failed .*a-kmsg.tar: .*not a regular file"), Is.EqualTo(1), daemon.Log);
        Assert.That(daemon.Count("failed .*b-kmsg.tar: .*not a regular file"), Is.EqualTo(1), daemon.Log);
    }

    [Test]
    public async Task ImportOnce_LinksToProcKmsg_FinishesWithTheGoodArchive()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "fs-kmsg-once");
        File.CreateSymbolicLink(Path.Combine(images, "a-kmsg.tar"), "/proc/kmsg");
        File.CreateSymbolicLink(Path.Combine(images, "b-kmsg.txt"), "/proc/kmsg");
        File.Copy(_good.Path, Path.Combine(images, "c-good.tar"));

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--images", images).Bounded(120);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Stderr, Does.Contain("imported " + Path.Combine(images, "c-good.tar")));
        Assert.That(result.Stderr, Does.Match("failed .*a-kmsg.tar: .*not a regular file"));
        Assert.That(result.Stderr, Does.Match("failed .*b-kmsg.txt: .*not a regular file"));
        Assert.That(await ImageNamesAsync(containerd, ns), Does.Contain(Good));
    }

    [Test]
    public async Task Watch_FifoArrivesAfterStart_DoesNotHoldTheWorker()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "fs-fifo");
        await using var daemon = WatchSetup.Start(containerd, ns, images, "--parallel", "1");
        await daemon.WaitForAsync("initial import done");

        Sh($"mkfifo '{Path.Combine(images, "a-fifo.tar")}'");
        await daemon.WaitForAsync("failed .*a-fifo.tar: .*not a regular file \\(a FIFO\\)");
        File.Copy(_good.Path, Path.Combine(images, "b-good.tar"));
        await daemon.WaitForAsync("imported .*b-good.tar");
        var (exit, _) = await daemon.TerminateAsync(seconds: 60);

        Assert.That(exit, Is.EqualTo(0), daemon.Log);
    }

    [Test]
    public async Task ImportOnceAndWatch_DirectorySymlinkLoops_EachFileOnceLoopNotedOnce()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "fs-loops");
        var a = Directory.CreateDirectory(Path.Combine(images, "a")).FullName;
        File.Copy(_good.Path, Path.Combine(a, "good.tar"));
        Directory.CreateSymbolicLink(Path.Combine(a, "up"), "..");
        Directory.CreateSymbolicLink(Path.Combine(a, "self"), "../a");

        var once = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--images", images).Bounded(120);

        Assert.That(once.ExitCode, Is.EqualTo(0), once.Output);
        Assert.That(Lines(once.Stderr, "imported "), Has.Count.EqualTo(1), once.Stderr);
        Assert.That(Lines(once.Stderr, "a/up leads back"), Has.Count.EqualTo(1), once.Stderr);
        Assert.That(Lines(once.Stderr, "a/self leads back"), Has.Count.EqualTo(1), once.Stderr);

        await using var daemon = WatchSetup.Start(containerd, ns, images, "--scan-interval", "1", "--no-cache");
        await daemon.WaitForAsync("initial import done");
        // Later scans run every second; a newer file is seen by one of them (or by inotify) and imported.
        File.Copy(_good.Path, Path.Combine(a, "later.tar"));
        await daemon.WaitForAsync("(imported|unchanged) .*a/later.tar");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var (exit, _) = await daemon.TerminateAsync();

        Assert.That(exit, Is.EqualTo(0), daemon.Log);
        Assert.That(daemon.Count("a/up leads back"), Is.EqualTo(1), daemon.Log);
        Assert.That(daemon.Count("a/self leads back"), Is.EqualTo(1), daemon.Log);
    }

    [Test]
    public async Task ImportOnceAndWatch_PathLongerThanPathMax_SkippedGoodArchiveImported()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "fs-long");
        File.Copy(_good.Path, Path.Combine(images, "good.tar"));
        var name = new string('d', 200);
        // 25 levels of 200-byte names: about 5 KB, past PATH_MAX (4096), made relative to each directory.
        Sh($"cd '{images}' && for i in $(seq 25); do mkdir {name} && cd {name}; done && cp '{_good.Path}' deep.tar");

        var once = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--images", images).Bounded(120);

        Assert.That(once.ExitCode, Is.EqualTo(0), once.Output);
        Assert.That(once.Stderr, Does.Contain("imported " + Path.Combine(images, "good.tar")));
        Assert.That(Lines(once.Stderr, "longer than the kernel's limit"), Has.Count.EqualTo(1), once.Stderr);

        await using var daemon = WatchSetup.Start(containerd, ns, images, "--scan-interval", "1", "--no-cache");
        await daemon.WaitForAsync("initial import done");
        File.Copy(_good.Path, Path.Combine(images, "later.tar"));
        await daemon.WaitForAsync("(imported|unchanged) .*later.tar");
        var (exit, _) = await daemon.TerminateAsync();

        Assert.That(exit, Is.EqualTo(0), daemon.Log);
        Assert.That(daemon.Count("longer than the kernel's limit"), Is.EqualTo(1), daemon.Log);
    }

    [Test]
    public async Task Watch_FileFortyDirectoriesDeep_NeitherImportedNorUnpinned()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "fs-deep");
        File.Copy(_good.Path, Path.Combine(images, "good.tar"));
        await using var daemon = WatchSetup.Start(containerd, ns, images, "--scan-interval", "1");
        await daemon.WaitForAsync("initial import done");

        var deep = Path.Combine([images, .. Enumerable.Range(0, 40).Select(i => "d" + i)]);
        Directory.CreateDirectory(deep);
        File.Copy(_good.Path, Path.Combine(deep, "deep.tar"));
        File.Copy(_good.Path, Path.Combine(images, "later.tar"));
        await daemon.WaitForAsync("(imported|unchanged) .*later.tar");
        await daemon.WaitForAsync("more than 32 levels below");
        await Task.Delay(TimeSpan.FromSeconds(3));
        var (exit, _) = await daemon.TerminateAsync();

        Assert.That(exit, Is.EqualTo(0), daemon.Log);
        Assert.That(daemon.Count("deep.tar"), Is.Zero, daemon.Log);
        Assert.That(daemon.Count("unpinned"), Is.Zero, daemon.Log);
        var image = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Single(i => i.Name == Good);
        Assert.That(image.Labels, Does.ContainKey("io.cri-containerd.pinned"));
    }

    [Test]
    public async Task ImportOnce_NameNotUtf8_ImportedAndLoggedEscaped()
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "fs-latin1");
        Sh($"cp '{_good.Path}' \"{images}/$(printf 'caf\\351.tar')\"");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--images", images).Bounded(120);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(result.Stderr, Does.Contain("imported " + images + "/caf\\xe9.tar"), result.Stderr);
        Assert.That(await ImageNamesAsync(containerd, ns), Does.Contain(Good));

        // The daemon finds it by its bytes too, and its cache (JSON, whose keys are text) still saves.
        await using var daemon = WatchSetup.Start(containerd, ns, images);
        await daemon.WaitForAsync("initial import done");
        Sh($"cp '{_good.Path}' \"{images}/$(printf 'na\\357ve.tar')\"");
        await daemon.WaitForAsync("(imported|unchanged) .*na\\\\xefve.tar");
        var (exit, _) = await daemon.TerminateAsync();

        Assert.That(exit, Is.EqualTo(0), daemon.Log);
        Assert.That(daemon.Log, Does.Contain("caf\\xe9.tar"));
        Assert.That(daemon.Count("EROR|WARN"), Is.Zero, daemon.Log);
        Assert.That(File.Exists(Path.Combine(images, ".cache.json")), Is.True);
    }

    [Test]
    public async Task ImportOnce_NewlineInFileName_CannotForgeALogLine([Values("text", "json")] string format)
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "fs-newline-" + format);
        File.Copy(_good.Path, Path.Combine(images, "evil\n2026-01-01T00:00:00.000+00:00 INFO imported forged.tar\r.tar"));

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--log-format", format, "--images", images).Bounded(120);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        var lines = result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.None.Contain('\r'), result.Stderr);
        // Text shows the escape as is; JSON carries the same escaped string in its own quoting.
        var shown = format == "json"
            ? lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("RenderedMessage").GetString()!).ToList()
            : [.. lines];
        Assert.That(shown.Where(l => l.Contains("forged", StringComparison.Ordinal)).ToList(), Has.Count.EqualTo(1).And.All.Contain("evil\\n2026"), result.Stderr);
    }

    [Test]
    public async Task ImportOnce_PullListNotText_FailedFileNamed([Values("utf16", "binary", "oversized")] string kind)
    {
        var (containerd, ns, images) = await WatchSetup.PrepareAsync(_dir, "fs-list-" + kind);
        File.Copy(_good.Path, Path.Combine(images, "good.tar"));
        var list = Path.Combine(images, "list.txt");
        var bytes = kind switch
        {
            "utf16" => Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("docker.io/library/busybox:1.36\n")).ToArray(),
            "binary" => [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0],
            _ => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("# comment line that pads the file out\n", 40_000))),
        };
        await File.WriteAllBytesAsync(list, bytes);
        var expected = kind switch
        {
            "utf16" => "UTF-16",
            "binary" => "binary",
            _ => "larger than",
        };

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--images", images).Bounded(120);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        var failed = Lines(result.Stderr, "failed " + list);
        Assert.That(failed, Has.Count.EqualTo(1), result.Stderr);
        Assert.That(failed[0], Does.Contain("bad pull list: ").And.Contain(expected));
        Assert.That(result.Stderr, Does.Contain("imported " + Path.Combine(images, "good.tar")));
    }

    private static List<string> Lines(string output, string needle) =>
        output.Split('\n').Where(l => l.Contains(needle, StringComparison.Ordinal)).ToList();

    private static async Task<List<string>> ImageNamesAsync(ContainerdInstance containerd, string ns) =>
        (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).Select(i => i.Name).ToList();

    private static void Sh(string script)
    {
        using var process = Process.Start(new ProcessStartInfo("bash", ["-c", script]) { UseShellExecute = false, RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"bash -c {script} failed: {error}");
        }
    }
}
