using Imageimportd.Daemon;
using Imageimportd.Queue;
using Imageimportd.Tests.Unit;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using TempDirectory = Imageimportd.Tests.Harness.TempDirectory;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class ScanTriggerTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(30);

    private FakeTimeProvider _time = null!;
    private FakeFileProbe _probe = null!;
    private ImportQueue _queue = null!;
    private RecordingObserver _observer = null!;
    private ScanTrigger _trigger = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero));
        _probe = new FakeFileProbe();
        _queue = new ImportQueue(_probe, _time);
        _observer = new RecordingObserver();
        _trigger = new ScanTrigger(_queue, _observer, Interval, _time);
    }

    [TearDown]
    public void TearDown() => _trigger.Dispose();

    [Test]
    public async Task WaitAsync_NoWake_EndsAfterIntervalAndBurst()
    {
        var start = _time.GetUtcNow();

        var wait = _trigger.WaitAsync(CancellationToken.None);

        Assert.That(_trigger.NextScanAt, Is.EqualTo(start + Interval + ScanTrigger.Burst));
        _time.Advance(Interval + ScanTrigger.Burst);
        await wait.WithTimeout();
        Assert.That(_trigger.NextScanAt, Is.Null);
    }

    [Test]
    public async Task Wake_WhileWaiting_ScanComesForwardToOneBurstLater()
    {
        var wait = _trigger.WaitAsync(CancellationToken.None);
        _time.Advance(TimeSpan.FromSeconds(3));
        var woken = _time.GetUtcNow();

        _trigger.Wake();
        _time.Advance(TimeSpan.FromMilliseconds(100));
        _trigger.Wake();

        Assert.That(_trigger.NextScanAt, Is.EqualTo(woken + ScanTrigger.Burst), "later wakes of the same burst do not push it back");
        _time.Advance(ScanTrigger.Burst - TimeSpan.FromMilliseconds(100));
        await wait.WithTimeout();
    }

    [Test]
    public async Task Wake_WhileNoOneWaits_NextWaitIsOneBurst()
    {
        _trigger.Wake();
        var start = _time.GetUtcNow();

        var wait = _trigger.WaitAsync(CancellationToken.None);

        Assert.That(_trigger.NextScanAt, Is.EqualTo(start + ScanTrigger.Burst));
        _time.Advance(ScanTrigger.Burst);
        await wait.WithTimeout();
        var next = _trigger.WaitAsync(CancellationToken.None);
        Assert.That(_trigger.NextScanAt, Is.EqualTo(_time.GetUtcNow() + Interval + ScanTrigger.Burst), "a wake is used once");
        _time.Advance(Interval + ScanTrigger.Burst);
        await next.WithTimeout();
    }

    [Test]
    public void WaitAsync_Stopped_ThrowsCancelled()
    {
        using var stop = new CancellationTokenSource();
        var wait = _trigger.WaitAsync(stop.Token);

        stop.Cancel();

        Assert.That(async () => await wait.WithTimeout(), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void Changed_Archive_QueuedWithoutAScan()
    {
        _probe.Set("/images/a.tar", 1, 1);

        _trigger.Changed("/images/a.tar");
        _trigger.Changed("/images/notes.md");

        Assert.That(_queue.Snapshot().Select(e => e.Path), Is.EqualTo(new[] { "/images/a.tar" }));
        _ = _trigger.WaitAsync(CancellationToken.None);
        Assert.That(_trigger.NextScanAt, Is.EqualTo(_time.GetUtcNow() + Interval + ScanTrigger.Burst), "no wake was asked for");
    }

    [Test]
    public void Changed_DirectoryMovedIn_Wakes()
    {
        using var dir = new TempDirectory("iid-trigger-");

        _trigger.Changed(dir.Path);
        _ = _trigger.WaitAsync(CancellationToken.None);

        Assert.That(_trigger.NextScanAt, Is.EqualTo(_time.GetUtcNow() + ScanTrigger.Burst));
    }

    [Test]
    public void Removed_File_LeavesTheQueueAndWakes()
    {
        _probe.Set("/images/a.tar", 1, 1);
        _trigger.Changed("/images/a.tar");

        _trigger.Removed("/images/a.tar");
        _ = _trigger.WaitAsync(CancellationToken.None);

        Assert.That(_queue.Snapshot(), Is.Empty);
        Assert.That(_observer.Calls, Is.EqualTo(new[] { "removed /images/a.tar" }));
        Assert.That(_trigger.NextScanAt, Is.EqualTo(_time.GetUtcNow() + ScanTrigger.Burst));
    }
}
