using Imageimportd.Daemon;
using Imageimportd.Queue;
using Imageimportd.Tests.Unit;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class ReadinessTests
{
    private const string Directory = "/images";

    private FakeTimeProvider _time = null!;
    private FakeFileProbe _probe = null!;
    private ImportQueue _queue = null!;
    private RecordingObserver _observer = null!;
    private LogCapture _log = null!;
    private int _flushes;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero));
        _probe = new FakeFileProbe();
        _queue = new ImportQueue(_probe, _time, new ImportQueueOptions { SettleTime = TimeSpan.FromSeconds(2) });
        _observer = new RecordingObserver();
        _log = new LogCapture();
        _flushes = 0;
    }

    [Test]
    public void CheckReady_BeforeTheInitialScanEnds_SendsNothing()
    {
        var notifier = new RecordingNotifier();
        var readiness = NewReadiness(notifier);

        readiness.CheckReady();

        Assert.That(readiness.IsReady, Is.False);
        Assert.That(notifier.Sent, Is.Empty);
    }

    [Test]
    public void InitialScanDone_NothingPending_ReadyOnceAfterTheCacheIsWritten()
    {
        var notifier = new RecordingNotifier();
        var readiness = NewReadiness(notifier);
        readiness.Scanning();

        readiness.InitialScanDone();
        readiness.CheckReady();

        Assert.That(readiness.IsReady, Is.True);
        Assert.That(notifier.Sent, Is.EqualTo(new[] { "STATUS=scanning /images", "READY=1", "STATUS=watching /images" }));
        Assert.That(_flushes, Is.EqualTo(1));
        Assert.That(_observer.Calls, Is.EqualTo(new[] { "ready" }));
        Assert.That(_log.Lines(), Is.EqualTo(new[] { "initial import done (0 files imported); watching /images" }));
    }

    [Test]
    public void CheckReady_InitialFilesHandled_ReadyOnlyThen()
    {
        var notifier = new RecordingNotifier();
        var readiness = NewReadiness(notifier);
        _probe.Set("/images/a.tar", 1, 1);
        _probe.Set("/images/b.tar", 1, 1);
        _queue.Notify("/images/a.tar");
        _queue.Notify("/images/b.tar");
        readiness.InitialScanDone();
        _time.Advance(TimeSpan.FromSeconds(2));

        var a = _queue.TryDequeue()!;
        readiness.Importing(a.Path);
        readiness.FileImported();
        _queue.Complete(a, ImportOutcomeKind.Success);
        readiness.CheckReady();
        var readyAfterOne = readiness.IsReady;
        var b = _queue.TryDequeue()!;
        _queue.Complete(b, ImportOutcomeKind.Permanent);
        readiness.CheckReady();

        Assert.That(readyAfterOne, Is.False);
        Assert.That(readiness.IsReady, Is.True, "a parked file is handled");
        Assert.That(notifier.Sent, Is.EqualTo(new[] { "STATUS=importing a.tar", "READY=1", "STATUS=watching /images" }));
        Assert.That(_log.Lines(), Has.One.EqualTo("initial import done (1 files imported); watching /images"));
    }

    [Test]
    public void Stopping_SendsStoppingAndItsStatus()
    {
        var notifier = new RecordingNotifier();

        NewReadiness(notifier).Stopping();

        Assert.That(notifier.Sent, Is.EqualTo(new[] { "STOPPING=1", "STATUS=stopping" }));
    }

    [Test]
    public async Task WatchdogAsync_WatchdogSet_SendsAtOnceThenEveryInterval()
    {
        var notifier = new RecordingNotifier(TimeSpan.FromSeconds(10));
        using var stop = new CancellationTokenSource();

        var watchdog = NewReadiness(notifier).WatchdogAsync(stop.Token);
        await notifier.WaitForAsync("WATCHDOG=1");
        _time.Advance(TimeSpan.FromSeconds(10));
        await notifier.WaitForAsync("WATCHDOG=1", times: 2);
        _time.Advance(TimeSpan.FromSeconds(10));
        await notifier.WaitForAsync("WATCHDOG=1", times: 3);
        await stop.CancelAsync();
        await watchdog.WithTimeout();

        Assert.That(notifier.Sent, Is.EqualTo(Enumerable.Repeat("WATCHDOG=1", 3)));
    }

    [Test]
    public async Task WatchdogAsync_NoWatchdog_ReturnsAtOnceSendingNothing()
    {
        var notifier = new RecordingNotifier();

        await NewReadiness(notifier).WatchdogAsync(CancellationToken.None).WithTimeout();

        Assert.That(notifier.Sent, Is.Empty);
    }

    private Readiness NewReadiness(RecordingNotifier notifier) =>
        new(notifier, _queue, () => _flushes++, _observer, _log.Logger, Directory, _time);
}
