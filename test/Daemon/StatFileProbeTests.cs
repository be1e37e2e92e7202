using Imageimportd.Queue;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class StatFileProbeTests
{
    [Test]
    public async Task Probe_FileWithNanosecondMtime_ReturnsFullPrecision()
    {
        using var dir = new TempDirectory("iid-probe-");
        var path = dir.Combine("a.tar");
        await File.WriteAllBytesAsync(path, new byte[1234]).WaitAsync(TimeSpan.FromSeconds(30));
        // .NET cannot set a time finer than 100 ns; touch can.
        await Tools.RunAsync("touch", ["-d", "@1714557600.123456789", path], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var stamp = StatFileProbe.Instance.Probe(path);

        Assert.That(stamp?.WithoutInode(), Is.EqualTo(new FileStamp(1234, 1_714_557_600_123_456_789)));
    }

    [Test]
    public async Task Probe_FileReplacedByRenameWithSameSizeAndMtime_StampDiffers()
    {
        using var dir = new TempDirectory("iid-probe-");
        var path = dir.Combine("a.tar");
        var other = dir.Combine(".b.tmp");
        await File.WriteAllBytesAsync(path, new byte[10]).WaitAsync(TimeSpan.FromSeconds(30));
        await File.WriteAllBytesAsync(other, new byte[10]).WaitAsync(TimeSpan.FromSeconds(30));
        await Tools.RunAsync("touch", ["-d", "@1714557600", path, other], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        var before = StatFileProbe.Instance.Probe(path)!.Value;

        File.Move(other, path, overwrite: true);
        var after = StatFileProbe.Instance.Probe(path)!.Value;

        Assert.That(after.SameSizeAndTime(before), Is.True);
        Assert.That(after, Is.Not.EqualTo(before), "a new inode is a new file");
    }

    [Test]
    public void Probe_MissingFile_ReturnsNull()
    {
        using var dir = new TempDirectory("iid-probe-");

        Assert.That(StatFileProbe.Instance.Probe(dir.Combine("missing.tar")), Is.Null);
    }
}
