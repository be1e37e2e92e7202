using Imageimportd.Cache;
using Imageimportd.Daemon;
using Imageimportd.Images;
using Imageimportd.Queue;
using Imageimportd.Scan;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Unit;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using TempDirectory = Imageimportd.Tests.Harness.TempDirectory;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class ScanLoopTests
{
    [Test]
    public async Task RunAsync_WakeAfterTheInitialPass_ScansAgainThenStops()
    {
        using var dir = new TempDirectory("iid-scanloop-");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero));
        var cache = ImportCache.InMemory(time);
        using var saver = new CacheSaver(cache, time, TimeSpan.FromSeconds(1), _ => { });
        var store = new InMemoryImageStore();
        var queue = new ImportQueue(StatFileProbe.Instance, time);
        var observer = new RecordingObserver();
        var log = new LogCapture();
        var keeper = Keepers.For(cache, saver, store, log.Logger);
        var pass = new ScanPass(dir.Path, new DirectoryScan(), StatFileProbe.Instance, cache, keeper, queue, observer, log.Logger);
        using var trigger = new ScanTrigger(queue, observer, TimeSpan.FromSeconds(30), time);
        var arms = 0;
        var initialDone = 0;
        using var stop = new CancellationTokenSource();
        var loop = new ScanLoop(dir.Path, () => Interlocked.Increment(ref arms), pass, trigger, log.Logger);

        var run = loop.RunAsync(() => Interlocked.Increment(ref initialDone), stop.Token);
        await observer.WaitForAsync("scan initial");
        var file = dir.Write("late.tar", [1]);
        trigger.Wake();
        await Until.TrueAsync(() => trigger.NextScanAt is not null, "the loop to wait for the next scan");
        time.Advance(ScanTrigger.Burst);
        await observer.WaitForAsync("scan");
        await stop.CancelAsync();
        await run.WithTimeout();

        Assert.That(initialDone, Is.EqualTo(1));
        Assert.That(arms, Is.EqualTo(2), "armed before each pass");
        Assert.That(queue.Snapshot().Select(e => e.Path), Is.EqualTo(new[] { file }));
        Assert.That(observer.Calls, Is.EqualTo(new[] { "scan initial", "scan" }));
    }

    [Test]
    public async Task RunAsync_DirectoryMissing_WarnsAndKeepsWatching()
    {
        using var parent = new TempDirectory("iid-scanloop-");
        var directory = parent.Combine("images");
        var time = new FakeTimeProvider();
        var cache = ImportCache.InMemory(time);
        using var saver = new CacheSaver(cache, time, TimeSpan.FromSeconds(1), _ => { });
        var store = new InMemoryImageStore();
        var queue = new ImportQueue(StatFileProbe.Instance, time);
        var observer = new RecordingObserver();
        var log = new LogCapture();
        var keeper = Keepers.For(cache, saver, store, log.Logger);
        var pass = new ScanPass(directory, new DirectoryScan(), StatFileProbe.Instance, cache, keeper, queue, observer, log.Logger);
        using var trigger = new ScanTrigger(queue, observer, TimeSpan.FromSeconds(30), time);
        using var stop = new CancellationTokenSource();

        var run = new ScanLoop(directory, () => { }, pass, trigger, log.Logger).RunAsync(() => { }, stop.Token);
        await observer.WaitForAsync("scan initial");
        await stop.CancelAsync();
        await run.WithTimeout();

        Assert.That(log.Lines(), Has.One.EqualTo($"images directory {directory} does not exist yet; watching for it"));
    }
}
