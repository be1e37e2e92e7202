using Imageimportd.Leases;
using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Hostile;

/// <summary>Faults around an import: containerd dying mid-import, imageimportd killed mid-import.</summary>
[TestFixture]
[NonParallelizable]
public sealed class FaultTests
{
    private TempDirectory _dir = null!;
    private string _big = null!;
    private string _small = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _dir = new TempDirectory("fault-");
        _big = _dir.Combine("big.tar");
        // One 300 MB incompressible layer: an import long enough to be interrupted.
        await ArchiveSurgery.MakeRandomDockerArchiveAsync(_big, 300, "docker.io/library/big:1");
        _small = _dir.Combine("small.tar");
        await ArchiveSurgery.MakeRandomDockerArchiveAsync(_small, 1, "docker.io/library/small:1");
    }

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task ImportOnce_ContainerdKilledMidImportAndRestarted_ImportCompletes()
    {
        await using var containerd = await ContainerdInstance.StartAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("killed");
        await using var import = DaemonProcess.Start(["import-once", "--address", containerd.Address, "--namespace", ns, "--wait", "60", _big]);
        await containerd.CtrFor(ns).WaitForImportLeaseAsync();

        Assert.That(await containerd.CtrFor(ns).ListImagesAsync().Bounded(), Is.Empty, "no image may appear before the import completes");
        containerd.Kill();
        await Task.Delay(1000);
        await containerd.RestartAsync().Bounded();

        var code = await import.WaitForExitAsync(TimeSpan.FromSeconds(180));
        Assert.That(code, Is.EqualTo(0), import.Log);
        var check = await containerd.CtrFor(ns).CheckImagesAsync().Bounded();
        Assert.That(check.Where(c => c.Name == "docker.io/library/big:1").Select(c => c.Complete && c.Unpacked), Is.EqualTo(new[] { true }), import.Log);
        Assert.That(await containerd.CtrFor(ns).LeasesAsync().Bounded(), Is.Empty);
    }

    [Test]
    public async Task Watch_KilledMidImport_NextStartImportsAndRemovesTheLease()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("sigkill");
        var images = Directory.CreateDirectory(_dir.Combine("images-" + ns)).FullName;
        File.Copy(_big, Path.Combine(images, "big.tar"));
        string[] args = ["watch", "--images", images, "--address", containerd.Address, "--namespace", ns, "--settle", "1"];

        await using (var first = DaemonProcess.Start(args))
        {
            await containerd.CtrFor(ns).WaitForImportLeaseAsync();
        }

        var cache = Path.Combine(images, ".cache.json");
        Assert.That(!File.Exists(cache) || !File.ReadAllText(cache).Contains("big.tar", StringComparison.Ordinal), Is.True, "an unfinished import was cached");

        await using var second = DaemonProcess.Start(args);
        await second.WaitForAsync("removed lease imageimportd-", seconds: 60);
        await second.WaitForAsync("imported .*big.tar", seconds: 180);
        Assert.That((await containerd.CtrFor(ns).LeasesAsync().Bounded()).Where(l => l.Id.StartsWith("imageimportd-", StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public async Task ImportOnce_LeasesOfLiveOrUnseenMakers_AreKeptAndOfDeadOnesRemoved()
    {
        // The owner label names boot, PID namespace, PID and start time: a live maker (this test process) and one in
        // another PID namespace are left alone; a reused PID and another boot's lease are a dead run's.
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("owners");
        var ctr = containerd.CtrFor(ns);
        var me = LeaseOwner.Current(ProcProcessTable.Instance)!;
        var leases = new Dictionary<string, LeaseOwner>
        {
            ["alive"] = me,
            ["other-pid-namespace"] = me with { PidNamespace = "pid:[1]", Pid = 999_999 },
            ["pid-reused"] = me with { StartTime = me.StartTime + 1 },
            ["other-boot"] = me with { BootId = "00000000-0000-0000-0000-000000000000" },
        };
        foreach (var (id, owner) in leases)
        {
            await ctr.RunAsync(["leases", "create", "--id", id, $"{LeaseOwner.Label}={owner}"]).Bounded();
        }

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--no-unpack", _small).Bounded(120);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        var left = (await ctr.LeasesAsync().Bounded()).Select(l => l.Id).Order(StringComparer.Ordinal);
        Assert.That(left, Is.EqualTo(new[] { "alive", "other-pid-namespace" }), result.Output);
        Assert.That(result.Stderr, Does.Contain("removed lease pid-reused").And.Contain("removed lease other-boot"));
    }
}
