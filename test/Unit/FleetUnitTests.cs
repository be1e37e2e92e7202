using Imageimportd.Errors;
using Imageimportd.Metrics;
using Imageimportd.Observe;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class FleetUnitTests
{
    [TestCase("9855", "127.0.0.1:9855")]
    [TestCase(":9855", "127.0.0.1:9855")]
    [TestCase("localhost:9855", "127.0.0.1:9855")]
    [TestCase("0.0.0.0:9855", "0.0.0.0:9855")]
    [TestCase("[::1]:9855", "[::1]:9855")]
    public void ParseAddress_Forms_LoopbackUnlessSaid(string text, string expected)
    {
        Assert.That(MetricsServer.ParseAddress(text).ToString(), Is.EqualTo(expected));
    }

    [TestCase("host.example:9855")]
    [TestCase("127.0.0.1:port")]
    [TestCase("127.0.0.1:70000")]
    public void ParseAddress_Bad_Throws(string text)
    {
        Assert.That(() => MetricsServer.ParseAddress(text), Throws.InstanceOf<FormatException>());
    }

    [Test]
    public void Exposition_LabelValues_Escaped()
    {
        var w = new ExpositionWriter();
        w.Family("m_total", "counter", "help with \\ and\nnewline");
        w.Sample("m_total", 1.5, ("cause", "a\"b\\c\nd"));

        Assert.That(w.ToString(), Is.EqualTo("# HELP m_total help with \\\\ and\\nnewline\n# TYPE m_total counter\nm_total{cause=\"a\\\"b\\\\c\\nd\"} 1.5\n"));
    }

    [Test]
    public void Histogram_Buckets_Cumulative()
    {
        var h = new Histogram([1, 10]);
        h.Observe(0.5);
        h.Observe(1);
        h.Observe(5);
        h.Observe(50);

        var (cumulative, sum, count) = h.Read();

        Assert.That(cumulative, Is.EqualTo(new long[] { 2, 3, 4 }));
        Assert.That(sum, Is.EqualTo(56.5));
        Assert.That(count, Is.EqualTo(4));
    }

    [Test]
    public void StateFile_SymlinkedOrRelativeSpelling_SameFile()
    {
        using var dir = new TempDirectory("iid-statepath-");
        var real = Directory.CreateDirectory(dir.Combine("real", "images")).FullName;
        var link = dir.Combine("link");
        Directory.CreateSymbolicLink(link, dir.Combine("real"));

        var a = StatusPaths.StateFile("/run/x", real);
        var b = StatusPaths.StateFile("/run/x", Path.Combine(link, "images"));
        var c = StatusPaths.StateFile("/run/x", real + "/");
        var other = StatusPaths.StateFile("/run/x", dir.Combine("real"));

        Assert.That(b, Is.EqualTo(a));
        Assert.That(c, Is.EqualTo(a));
        Assert.That(other, Is.Not.EqualTo(a), "another directory, another file");
        Assert.That(Path.GetDirectoryName(a), Is.EqualTo("/run/x"));
    }

    [Test]
    public void RemoveStale_FileOfAProcessThatIsNoImageimportd_Removed()
    {
        using var dir = new TempDirectory("iid-stale-");
        // This test host is alive but is not an imageimportd: a recycled pid.
        var stale = dir.Write("status-0000000000000001.json", System.Text.Encoding.UTF8.GetBytes($"{{\"pid\": {Environment.ProcessId}}}"));
        var torn = dir.Write("status-0000000000000002.json", System.Text.Encoding.UTF8.GetBytes("{\"pid\": "));
        var other = dir.Write("unrelated.json", System.Text.Encoding.UTF8.GetBytes("{\"pid\": 1}"));

        var removed = StatusPaths.RemoveStale(dir.Path);

        Assert.That(removed, Is.EqualTo(new[] { stale }));
        Assert.That(File.Exists(torn), Is.True, "an unreadable file may be mid-replace");
        Assert.That(File.Exists(other), Is.True);
    }

    [Test]
    public void DaemonMetrics_Failures_CountedByCause()
    {
        var metrics = new DaemonMetrics(TimeProvider.System);
        metrics.ImportFailed("/a.tar", new InvalidDataException("x"), Queue.ImportOutcomeKind.Permanent, TimeSpan.Zero);
        metrics.ImportFailed("/b.tar", new InvalidDataException("y"), Queue.ImportOutcomeKind.Permanent, TimeSpan.Zero);
        metrics.ImportFailed("/c.tar", new BackendException(FailureKind.Unavailable, "down"), Queue.ImportOutcomeKind.Transient, TimeSpan.Zero);

        var text = metrics.Render();

        Assert.That(text, Does.Contain("imageimportd_files_failed_total{cause=\"bad_archive\"} 2\n"));
        Assert.That(text, Does.Contain("imageimportd_files_failed_total{cause=\"containerd_unavailable\"} 1\n"));
        Assert.That(text, Does.Contain("imageimportd_containerd_up 0\n"));
    }
}
