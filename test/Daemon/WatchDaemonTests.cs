using Imageimportd.Cache;
using Imageimportd.Content;
using Imageimportd.Daemon;
using Imageimportd.Import;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Unit;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using TempDirectory = Imageimportd.Tests.Harness.TempDirectory;

namespace Imageimportd.Tests.Daemon;

/// <summary>The daemon as its factory wires it, over the in-memory backend: start, READY, and the shutdown order.</summary>
[TestFixture]
public sealed class WatchDaemonTests
{
    private static readonly ImportOptions Import = new() { Host = ImageBuilder.LinuxAmd64, ContentWrite = new ContentWriteOptions { ChunkBytes = 4096 } };

    [Test]
    public async Task RunAsync_ArchiveThenStop_ImportedReadyThenStoppedWithTheCacheSaved()
    {
        using var dir = new TempDirectory("iid-watchdaemon-");
        var archive = dir.Write("alpine.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("base")), "alpine:3.19"));
        var options = new WatchOptions { ImagesDirectory = dir.Path, CachePath = dir.Combine(".cache.json"), SettleTime = TimeSpan.Zero };
        var notifier = new RecordingNotifier();
        var log = new LogCapture();
        using var stop = new CancellationTokenSource();
        using var daemon = WatchDaemonFactory.Create(new InMemoryBackend(), Import, options, null, notifier, log.Logger, new FakeTimeProvider());

        var run = daemon.RunAsync(stop.Token);
        await notifier.WaitForAsync("READY=1");
        var ready = daemon.IsReady;
        await stop.CancelAsync();
        await run.WithTimeout();

        Assert.That(ready, Is.True);
        Assert.That(notifier.Sent, Is.EqualTo(new[]
        {
            "STATUS=scanning " + dir.Path, "STATUS=importing alpine.tar", "READY=1", "STATUS=watching " + dir.Path, "STOPPING=1", "STATUS=stopping",
        }));
        Assert.That(ImportCache.Load(options.CachePath, TimeProvider.System).TryGet(archive, out var entry), Is.True);
        Assert.That(entry.Images, Does.Contain("docker.io/library/alpine:3.19"));
        Assert.That(log.Lines()[^1], Is.EqualTo("stopped"));
    }

    [Test]
    public async Task RunAsync_ImportOutlivesTheShutdownTimeout_AbortedBeforeStopped()
    {
        using var dir = new TempDirectory("iid-watchdaemon-");
        var list = dir.Write("images.txt", "docker.io/library/redis:7\n"u8.ToArray());
        var options = new WatchOptions { ImagesDirectory = dir.Path, SettleTime = TimeSpan.Zero, ShutdownTimeout = TimeSpan.Zero };
        var notifier = new RecordingNotifier();
        var log = new LogCapture();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pulls = new StuckPullLists(started);
        using var stop = new CancellationTokenSource();
        using var daemon = WatchDaemonFactory.Create(new InMemoryBackend(), Import, options, pulls, notifier, log.Logger, new FakeTimeProvider());

        var run = daemon.RunAsync(stop.Token);
        await started.Task.WithTimeout();
        await stop.CancelAsync();
        await run.WithTimeout();

        var lines = log.Lines();
        Assert.That(lines, Does.Contain($"aborted {list}: shutdown timeout; it will be imported at the next start"));
        Assert.That(lines[^1], Is.EqualTo("stopped"));
        Assert.That(daemon.IsReady, Is.False, "the initial pass never finished");
    }

    private sealed class StuckPullLists(TaskCompletionSource started) : IPullListHandler
    {
        public async Task<IReadOnlyList<string>> HandleAsync(string path, CancellationToken cancellationToken)
        {
            started.TrySetResult();
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return [];
        }
    }
}
