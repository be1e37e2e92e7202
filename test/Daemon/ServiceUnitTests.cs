using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class ServiceUnitTests
{
    private static string UnitPath => Path.Combine(RepoPaths.Root, "dist", "imageimportd.service");

    [Test]
    public async Task Verify_UnitWithExistingExecutable_Passes()
    {
        using var dir = new TempDirectory("iid-unit-");
        // verify checks that ExecStart's binary exists; the real one is only there once installed.
        var text = await File.ReadAllTextAsync(UnitPath).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(text, Does.Contain("ExecStart=/usr/local/bin/imageimportd watch "));
        var copy = Path.Combine(dir.Path, "imageimportd.service");
        await File.WriteAllTextAsync(copy, text.Replace("ExecStart=/usr/local/bin/imageimportd", "ExecStart=/bin/true", StringComparison.Ordinal))
            .WaitAsync(TimeSpan.FromSeconds(30));

        var result = await Tools.RunUncheckedAsync("systemd-analyze", ["verify", copy], TimeSpan.FromSeconds(60), CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(90));

        Assert.That(result.ExitCode, Is.Zero, result.Stderr);
        Assert.That(result.Stderr, Does.Not.Contain("imageimportd.service"));
    }

    [TestCase("Type=notify")]
    [TestCase("TimeoutStartSec=infinity")]
    [TestCase("WatchdogSec=60")]
    [TestCase("After=containerd.service")]
    [TestCase("Before=kubelet.service")]
    [TestCase("ReadWritePaths=/var/lib/imageimportd /run/containerd")]
    [TestCase("RestrictAddressFamilies=AF_UNIX")]
    [TestCase("MemoryDenyWriteExecute=true")]
    [TestCase("WantedBy=multi-user.target")]
    public async Task Unit_Setting_Present(string line)
    {
        var lines = await File.ReadAllLinesAsync(UnitPath).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(lines, Does.Contain(line));
    }
}
