using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Fleet;

/// <summary><c>status</c> and the metrics (HTTP and file) against a running daemon and a real containerd.</summary>
[TestFixture]
[NonParallelizable]
public sealed partial class StatusAndMetricsTests
{
    private TempDirectory _dir = null!;
    private ToolArchive _archive = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _dir = new TempDirectory("iid-status-");
        _archive = await ToolArchives.DockerArchiveAsync(_dir.Combine("src"), ["docker.io/library/statusdemo:1.0"], CancellationToken.None).Bounded();
    }

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task Status_RunningDaemon_ReportsFilesAndReadiness_MetricsScraped()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("status");
        var images = Directory.CreateDirectory(_dir.Combine("images-" + ns)).FullName;
        var runtime = Directory.CreateDirectory(_dir.Combine("run-" + ns)).FullName;
        var metricsFile = _dir.Combine("metrics-" + ns + ".prom");
        File.Copy(_archive.Path, Path.Combine(images, "good.tar"));
        await File.WriteAllTextAsync(Path.Combine(images, "bad.tar"), "not an archive").Bounded();

        await using var daemon = DaemonProcess.Start([
            "watch", "--images", images, "--address", containerd.Address, "--namespace", ns, "--settle", "1",
            "--runtime-dir", runtime, "--metrics-address", "127.0.0.1:0", "--metrics-file", metricsFile]);
        var serving = await daemon.WaitForAsync("serving metrics on http://127.0.0.1:[0-9]+/metrics");
        await daemon.WaitForAsync("initial import done");

        var ready = await Status(images, runtime, "--ready");
        Assert.That(ready.ExitCode, Is.Zero, ready.Output);

        // The state file is written within a second of a change: wait for the outcomes rather than assume.
        JsonElement root = default;
        await WaitForAsync(async () =>
        {
            var json = await Status(images, runtime, "--json");
            Assert.That(json.ExitCode, Is.Zero, json.Output);
            root = JsonDocument.Parse(json.Stdout).RootElement.Clone();
            return root.GetProperty("files").EnumerateArray().Count(f => f.GetProperty("state").GetString() is "imported" or "failed") == 2;
        });
        Assert.That(root.GetProperty("initialPassDone").GetBoolean(), Is.True);
        Assert.That(root.GetProperty("containerd").GetProperty("reachable").GetBoolean(), Is.True);
        var files = root.GetProperty("files").EnumerateArray().ToDictionary(f => Path.GetFileName(f.GetProperty("path").GetString()!), f => f);
        Assert.That(files["good.tar"].GetProperty("state").GetString(), Is.EqualTo("imported"));
        Assert.That(files["good.tar"].GetProperty("images").EnumerateArray().Select(i => i.GetString()), Does.Contain("docker.io/library/statusdemo:1.0"));
        Assert.That(files["bad.tar"].GetProperty("state").GetString(), Is.EqualTo("failed"));
        Assert.That(files["bad.tar"].GetProperty("cause").GetString(), Is.EqualTo("bad_archive"));
        Assert.That(files["bad.tar"].GetProperty("nextRetry").GetString(), Is.EqualTo("when the file changes"));

        var text = await Status(images, runtime);
        Assert.That(text.ExitCode, Is.Zero, text.Output);
        Assert.That(text.Stdout, Does.Contain("initial pass: done"));
        Assert.That(text.Stdout, Does.Match(@"imported\s+\S*good\.tar\s+docker\.io/library/statusdemo:1\.0"));
        Assert.That(text.Stdout, Does.Match(@"failed\s+\S*bad\.tar\s+bad_archive"));

        // A real HTTP GET on loopback, parsed as Prometheus' text format.
        var url = Regex.Match(serving, "http://127.0.0.1:[0-9]+/metrics").Value;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync(new Uri(url)).Bounded();
        Assert.That((int)response.StatusCode, Is.EqualTo(200));
        Assert.That(response.Content.Headers.ContentType?.ToString(), Does.StartWith("text/plain; version=0.0.4"));
        var scraped = Exposition.Parse(await response.Content.ReadAsStringAsync().Bounded());
        Assert.That(scraped.Types["imageimportd_files_total"], Is.EqualTo("counter"));
        Assert.That(scraped.Types["imageimportd_import_duration_seconds"], Is.EqualTo("histogram"));
        Assert.That(scraped.Value("imageimportd_files_total{outcome=\"imported\"}"), Is.EqualTo(1));
        Assert.That(scraped.Value("imageimportd_files_failed_total{cause=\"bad_archive\"}"), Is.EqualTo(1));
        Assert.That(scraped.Value("imageimportd_import_duration_seconds_count"), Is.EqualTo(1));
        Assert.That(scraped.Value("imageimportd_import_duration_seconds_bucket{le=\"+Inf\"}"), Is.EqualTo(1));
        Assert.That(scraped.Value("imageimportd_read_bytes_total"), Is.GreaterThan(0).And.LessThanOrEqualTo(new FileInfo(_archive.Path).Length));
        Assert.That(scraped.Value("imageimportd_sent_bytes_total"), Is.GreaterThan(0));
        Assert.That(scraped.Value("imageimportd_ready"), Is.EqualTo(1));
        Assert.That(scraped.Value("imageimportd_containerd_up"), Is.EqualTo(1));
        Assert.That(scraped.Value("imageimportd_queue_depth"), Is.Zero);
        Assert.That(scraped.Value("imageimportd_last_full_scan_timestamp_seconds"), Is.GreaterThan(DateTimeOffset.UtcNow.AddMinutes(-10).ToUnixTimeSeconds()));
        using (var notFound = await http.GetAsync(new Uri(url.Replace("/metrics", "/other", StringComparison.Ordinal))).Bounded())
        {
            Assert.That((int)notFound.StatusCode, Is.EqualTo(404));
        }

        await WaitForAsync(() => Task.FromResult(File.Exists(metricsFile)));
        var fromFile = Exposition.Parse(await File.ReadAllTextAsync(metricsFile).Bounded());
        Assert.That(fromFile.Types, Does.ContainKey("imageimportd_files_total"));

        var (exit, _) = await daemon.TerminateAsync();
        Assert.That(exit, Is.Zero, daemon.Log);
        var after = await Status(images, runtime);
        Assert.That(after.ExitCode, Is.EqualTo(3), after.Output);
        Assert.That(after.Stderr, Does.Contain("no daemon is watching"));
        Assert.That(Exposition.Parse(await File.ReadAllTextAsync(metricsFile).Bounded()).Value("imageimportd_files_total{outcome=\"imported\"}"), Is.EqualTo(1), "the final write keeps the counts");
    }

    [Test]
    public async Task Status_ImportInFlight_ShowsBytesReadOfTotal()
    {
        // A private containerd, frozen (SIGSTOP) before the file arrives and thawed only in 20 ms slices until the status
        // file shows bytes read: the import is then in flight however fast this machine imports (an import of 96 MB
        // takes many slices), while the status file goes on being written every second.
        await using var containerd = await ContainerdInstance.StartAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("progress");
        var images = Directory.CreateDirectory(_dir.Combine("images-" + ns)).FullName;
        var runtime = Directory.CreateDirectory(_dir.Combine("run-" + ns)).FullName;
        var big = _dir.Combine("big-" + ns + ".tar");
        await Hostile.ArchiveSurgery.MakeRandomDockerArchiveAsync(big, 96, "docker.io/library/progress:1");
        var size = new FileInfo(big).Length;
        await using var daemon = DaemonProcess.Start([
            "watch", "--images", images, "--address", containerd.Address, "--namespace", ns, "--settle", "1", "--runtime-dir", runtime]);
        await daemon.WaitForAsync("initial import done");

        JsonElement importing = default;
        await Signal(containerd.Pid, "STOP");
        try
        {
            File.Move(big, Path.Combine(images, "big.tar"));
            await WaitForAsync(async () =>
            {
                var files = await StatusFilesAsync(images, runtime);
                importing = files.GetValueOrDefault("big.tar");
                if (importing.ValueKind == JsonValueKind.Object && importing.GetProperty("state").GetString() == "importing"
                    && importing.TryGetProperty("readBytes", out var read) && read.GetInt64() > 0)
                {
                    return true;
                }

                Assert.That(importing.ValueKind == JsonValueKind.Object ? importing.GetProperty("state").GetString() : "not listed yet",
                    Is.Not.EqualTo("imported"), "the import ended while containerd was thawed for a few 20 ms slices");
                await Signal(containerd.Pid, "CONT");
                await Task.Delay(20);
                await Signal(containerd.Pid, "STOP");
                return false;
            });
        }
        finally
        {
            await Signal(containerd.Pid, "CONT");
        }

        Assert.That(importing.GetProperty("totalBytes").GetInt64(), Is.EqualTo(size));
        Assert.That(importing.GetProperty("readBytes").GetInt64(), Is.GreaterThan(0).And.LessThanOrEqualTo(size));
        Assert.That(importing.TryGetProperty("nextRetry", out _), Is.False, "an import in flight has no retry time");
        JsonElement done = default;
        await WaitForAsync(async () =>
        {
            done = (await StatusFilesAsync(images, runtime)).GetValueOrDefault("big.tar");
            return done.ValueKind == JsonValueKind.Object && done.GetProperty("state").GetString() is "imported" or "failed";
        });
        Assert.That(done.GetProperty("state").GetString(), Is.EqualTo("imported"), daemon.Log);
        Assert.That(done.TryGetProperty("readBytes", out _), Is.False, "progress is shown only while importing");
    }

    [Test]
    public async Task Status_ContainerdGoneWhenAFileArrives_FailedWithNextRetryTime()
    {
        await using var containerd = await ContainerdInstance.StartAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("retry");
        var images = Directory.CreateDirectory(_dir.Combine("images-" + ns)).FullName;
        var runtime = Directory.CreateDirectory(_dir.Combine("run-" + ns)).FullName;
        await using var daemon = DaemonProcess.Start([
            "watch", "--images", images, "--address", containerd.Address, "--namespace", ns, "--settle", "1", "--runtime-dir", runtime]);
        await daemon.WaitForAsync("initial import done");
        containerd.Kill();
        var staged = _dir.Combine("staged-" + ns + ".tar");
        File.Copy(_archive.Path, staged);
        File.Move(staged, Path.Combine(images, "late.tar"));

        JsonElement failed = default;
        await WaitForAsync(async () =>
        {
            failed = (await StatusFilesAsync(images, runtime)).GetValueOrDefault("late.tar");
            return failed.ValueKind == JsonValueKind.Object && failed.GetProperty("state").GetString() == "failed"
                && failed.TryGetProperty("nextRetry", out _);
        });

        // A transient failure retries at a time (backoff); a bad archive would say "when the file changes".
        var at = failed.GetProperty("at").GetDateTimeOffset();
        Assert.That(failed.GetProperty("nextRetry").TryGetDateTimeOffset(out var retry), Is.True, failed.ToString());
        Assert.That(retry, Is.GreaterThan(at), failed.ToString());
        Assert.That(failed.GetProperty("cause").GetString(), Is.Not.EqualTo("bad_archive"), failed.ToString());
        var text = await Status(images, runtime);
        Assert.That(text.Stdout, Does.Match(@"failed\s+\S*late\.tar"), text.Output);
    }

    [Test]
    public async Task Status_DaemonWaitingForContainerd_NotReady()
    {
        var images = Directory.CreateDirectory(_dir.Combine("images-waiting")).FullName;
        var runtime = Directory.CreateDirectory(_dir.Combine("run-waiting")).FullName;
        await using var daemon = DaemonProcess.Start(["watch", "--images", images, "--address", _dir.Combine("no-containerd.sock"), "--runtime-dir", runtime]);
        await daemon.WaitForAsync("containerd");

        var ready = await Status(images, runtime, "--ready");
        var text = await Status(images, runtime);

        Assert.That(ready.ExitCode, Is.EqualTo(1), ready.Output);
        Assert.That(ready.Stderr, Does.Contain("not ready"));
        Assert.That(text.Stdout, Does.Contain("initial pass: in progress"));
        Assert.That(text.Stdout, Does.Contain("waiting for it"));
    }

    [Test]
    public async Task Watch_MetricsPortInUse_OneErrorExit1()
    {
        using var taken = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        taken.Start();
        var port = ((System.Net.IPEndPoint)taken.LocalEndpoint).Port;
        var images = Directory.CreateDirectory(_dir.Combine("images-port")).FullName;

        var result = await ImageimportdCli.RunRawAsync(
            ["watch", "--images", images, "--address", _dir.Combine("no-containerd.sock"), "--runtime-dir", _dir.Combine("run-port"), "--metrics-address", $"127.0.0.1:{port}"],
            TimeSpan.FromSeconds(60));

        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Stderr, Does.Contain($"cannot serve metrics on 127.0.0.1:{port}"));
        Assert.That(result.Stderr, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public async Task Status_NoDaemon_Exit3()
    {
        var result = await Status(_dir.Combine("nobody-watches"), _dir.Combine("empty-run"));

        Assert.That(result.ExitCode, Is.EqualTo(3), result.Output);
        Assert.That(result.Stderr, Does.Contain("no daemon is watching"));
    }

    private static Task<ImageimportdCli.Result> Status(string images, string runtime, params string[] extra) =>
        ImageimportdCli.RunRawAsync(["status", "--images", images, "--runtime-dir", runtime, .. extra], TimeSpan.FromSeconds(60));

    /// <summary>The status file's entries by file name (<c>status --json</c>).</summary>
    private static async Task<Dictionary<string, JsonElement>> StatusFilesAsync(string images, string runtime)
    {
        var json = await Status(images, runtime, "--json");
        Assert.That(json.ExitCode, Is.Zero, json.Output);
        return JsonDocument.Parse(json.Stdout).RootElement.Clone().GetProperty("files").EnumerateArray()
            .ToDictionary(f => Path.GetFileName(f.GetProperty("path").GetString()!), f => f, StringComparer.Ordinal);
    }

    private static async Task Signal(int pid, string signal) =>
        await Tools.RunAsync("kill", ["-" + signal, pid.ToString(CultureInfo.InvariantCulture)], CancellationToken.None).Bounded();

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "timed out");
            await Task.Delay(200);
        }
    }

    /// <summary>A strict reader of Prometheus' text format 0.0.4: every line a comment or a well-formed sample.</summary>
    private sealed partial record Exposition(Dictionary<string, string> Types, Dictionary<string, double> Samples)
    {
        public double Value(string series) =>
            Samples.TryGetValue(series, out var v) ? v : throw new AssertionException($"no sample {series}; have: {string.Join(", ", Samples.Keys)}");

        public static Exposition Parse(string text)
        {
            var types = new Dictionary<string, string>(StringComparer.Ordinal);
            var samples = new Dictionary<string, double>(StringComparer.Ordinal);
            Assert.That(text, Does.EndWith("\n"));
            foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                if (line.StartsWith("# TYPE ", StringComparison.Ordinal))
                {
                    var parts = line.Split(' ');
                    Assert.That(parts[3], Is.AnyOf("counter", "gauge", "histogram", "summary", "untyped"), line);
                    Assert.That(types.TryAdd(parts[2], parts[3]), Is.True, "one TYPE per family: " + line);
                    continue;
                }

                if (line.StartsWith('#'))
                {
                    Assert.That(line, Does.StartWith("# HELP "), line);
                    continue;
                }

                var match = SampleLine().Match(line);
                Assert.That(match.Success, Is.True, "not a sample line: " + line);
                var value = match.Groups["value"].Value switch
                {
                    "+Inf" => double.PositiveInfinity,
                    "-Inf" => double.NegativeInfinity,
                    "NaN" => double.NaN,
                    var v => double.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture),
                };
                Assert.That(samples.TryAdd(match.Groups["series"].Value, value), Is.True, "duplicate series: " + line);
                var name = match.Groups["name"].Value;
                var family = Regex.Replace(name, "_(bucket|sum|count)$", string.Empty);
                Assert.That(types.ContainsKey(name) || types.ContainsKey(family), Is.True, "sample before its TYPE: " + line);
            }

            return new Exposition(types, samples);
        }

        [GeneratedRegex("""^(?<series>(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*\})?) (?<value>\S+)$""")]
        private static partial Regex SampleLine();
    }
}
