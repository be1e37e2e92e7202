using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Hostile;

/// <summary>Files that change under an import: replaced, deleted, or unreadable to the importer.</summary>
[TestFixture]
[NonParallelizable]
public sealed class MidImportChangeTests
{
    private TempDirectory _dir = null!;
    private string _big = null!;
    private ToolArchive _small = null!;
    private string _smallDigest = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _dir = new TempDirectory("midimport-");
        _big = _dir.Combine("big.tar");
        await ArchiveSurgery.MakeRandomDockerArchiveAsync(_big, 200, "docker.io/library/changing:1");
        _small = await ToolArchives.DockerArchiveAsync(_dir.Combine("small"), ["docker.io/library/changing:1"], CancellationToken.None).Bounded();
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var reference = SharedContainerd.NewNamespace("mid-reference");
        var imported = await ImageimportdCli.RunAsync(containerd, reference, "import-once", _small.Path).Bounded(120);
        Assert.That(imported.ExitCode, Is.Zero, imported.Output);
        _smallDigest = (await containerd.CtrFor(reference).ListImagesAsync().Bounded()).Single(i => i.Name == "docker.io/library/changing:1").Digest;
    }

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task Watch_FileReplacedDuringImport_ImportedAgainWithTheNewContent()
    {
        var (containerd, ns, images, daemon) = await StartWithBigFileAsync("replaced");
        await using (daemon)
        {
            var temp = Path.Combine(images, ".replacement");
            File.Copy(_small.Path, temp);
            File.Move(temp, Path.Combine(images, "f.tar"), overwrite: true);

            await daemon.WaitForAsync(@"initial import done", seconds: 120);
            await WaitUntilAsync(async () => (await containerd.CtrFor(ns).ListImagesAsync()).Any(i => i.Name == "docker.io/library/changing:1" && i.Digest == _smallDigest));
            Assert.That(daemon.Count(" EROR "), Is.Zero, daemon.Log);
        }
    }

    [Test]
    public async Task Watch_FileDeletedDuringImport_ImportEndsCleanlyAndPinGoes()
    {
        var (containerd, ns, images, daemon) = await StartWithBigFileAsync("deleted");
        await using (daemon)
        {
            File.Delete(Path.Combine(images, "f.tar"));

            await daemon.WaitForAsync("unpinned .*f.tar", seconds: 120);
            Assert.That(daemon.Count(" EROR "), Is.Zero, daemon.Log);
            Assert.That((await containerd.CtrFor(ns).LeasesAsync().Bounded()).Where(l => l.Id.StartsWith("imageimportd-", StringComparison.Ordinal)), Is.Empty);
        }
    }

    [Test]
    public async Task ImportOnce_UnreadableFileWithoutDacOverride_OneClearErrorOthersImport()
    {
        var unreadable = _dir.Combine("mode000.tar");
        File.Copy(_small.Path, unreadable, overwrite: true);
        File.SetUnixFileMode(unreadable, UnixFileMode.None);
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("mode000");

        // As root with DAC override and read-search dropped, as a hardened unit without CAP_DAC_READ_SEARCH runs it.
        var result = await ImageimportdCli.RunRawAsync(
            ["--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search", ImageimportdCli.BinaryPath,
             "import-once", "--address", containerd.Address, "--namespace", ns, unreadable, _small.Path],
            program: "setpriv").Bounded(120);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Stderr, Does.Contain("failed " + unreadable).And.Contain("unreadable"));
        Assert.That(result.Stderr, Does.Contain("imported " + _small.Path));
    }

    private async Task<(ContainerdInstance, string, string, DaemonProcess)> StartWithBigFileAsync(string name)
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("mid-" + name);
        var images = Directory.CreateDirectory(_dir.Combine("images-" + ns)).FullName;
        File.Copy(_big, Path.Combine(images, "f.tar"));
        var daemon = DaemonProcess.Start(["watch", "--images", images, "--address", containerd.Address, "--namespace", ns, "--settle", "1", "--scan-interval", "2"]);
        // Mid-import means the daemon has the file open: its lease comes a moment before the open, and a file changed
        // in that moment is one the import never read.
        var file = Path.Combine(images, "f.tar");
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!HasOpen(daemon.Pid, file))
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the import never opened the file:\n" + daemon.Log);
            await Task.Delay(20);
        }

        return (containerd, ns, images, daemon);
    }

    private static bool HasOpen(int pid, string path)
    {
        try
        {
            return new DirectoryInfo($"/proc/{pid}/fd").EnumerateFileSystemInfos().Any(fd => fd.LinkTarget == path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, int seconds = 120)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "condition not reached in time");
            await Task.Delay(250);
        }
    }
}
