using Imageimportd.Queue;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class ImportQueueTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private FakeTimeProvider _time = null!;
    private FakeFileProbe _files = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider();
        _files = new FakeFileProbe();
    }

    [Test]
    public void Notify_LaterEvent_MovesDueTime()
    {
        var queue = NewQueue();
        _files.Set("/i/a.tar", 10, 1);
        queue.Notify("/i/a.tar");
        _time.Advance(TimeSpan.FromMilliseconds(1500));
        _files.Set("/i/a.tar", 20, 2);
        queue.Notify("/i/a.tar");

        _time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.That(queue.TryDequeue(), Is.Null, "due 2 s after the last event, not the first");
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(queue.TryDequeue(), Is.EqualTo(new QueueItem("/i/a.tar", new FileStamp(20, 2), 1)));
    }

    [Test]
    public void Notify_SamePathTwice_HandsOutOnce()
    {
        var queue = NewQueue();
        _files.Set("/i/a.tar", 10, 1);
        queue.Notify("/i/a.tar");
        queue.Notify("/i/a.tar");
        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.That(queue.TryDequeue(), Is.Not.Null);
        Assert.That(queue.TryDequeue(), Is.Null);
    }

    [Test]
    public void TryDequeue_StampChangedWithoutEvent_WaitsAnotherSettleTime()
    {
        var queue = NewQueue();
        _files.Set("/i/a.tar", 10, 1);
        queue.Notify("/i/a.tar");
        _files.Set("/i/a.tar", 30, 3);

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(queue.TryDequeue(), Is.Null, "size grew since the event: still being written");
        _time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.That(queue.TryDequeue(), Is.Null);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(queue.TryDequeue(), Is.EqualTo(new QueueItem("/i/a.tar", new FileStamp(30, 3), 1)));
    }

    [Test]
    public void TryDequeue_MtimeOnlyChanged_WaitsAnotherSettleTime()
    {
        var queue = NewQueue();
        _files.Set("/i/a.tar", 10, 1_000_000_000);
        queue.Notify("/i/a.tar");
        _files.Set("/i/a.tar", 10, 1_000_000_001);

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(queue.TryDequeue(), Is.Null);
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(queue.TryDequeue()?.Stamp, Is.EqualTo(new FileStamp(10, 1_000_000_001)));
    }

    [Test]
    public void TryDequeue_FileGoneWhenDue_LeavesQueue()
    {
        var queue = NewQueue();
        _files.Set("/i/a.tar", 10, 1);
        queue.Notify("/i/a.tar");
        _files.Delete("/i/a.tar");
        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.That(queue.TryDequeue(), Is.Null);
        Assert.That(queue.PendingCount, Is.Zero);
    }

    [Test]
    public void Complete_SuccessUnchanged_Done()
    {
        var queue = NewQueue();
        var item = Settle(queue, "/i/a.tar");
        queue.Complete(item, ImportOutcomeKind.Success);

        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.That(queue.TryDequeue(), Is.Null);
        Assert.That(queue.PendingCount, Is.Zero);
    }

    [Test]
    public void Complete_NotifiedDuringImport_QueuedAgain()
    {
        var queue = NewQueue();
        var item = Settle(queue, "/i/a.tar");
        _files.Set("/i/a.tar", 99, 9);
        queue.Notify("/i/a.tar");
        queue.Complete(item, ImportOutcomeKind.Success);

        Assert.That(queue.PendingCount, Is.EqualTo(1));
        _time.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.That(queue.TryDequeue(), Is.Null, "a new version settles like any other");
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(queue.TryDequeue(), Is.EqualTo(new QueueItem("/i/a.tar", new FileStamp(99, 9), 1)));
    }

    [Test]
    public void Complete_StampChangedWithoutEvent_QueuedAgain()
    {
        var queue = NewQueue();
        var item = Settle(queue, "/i/a.tar");
        _files.Set("/i/a.tar", 99, 9);
        queue.Complete(item, ImportOutcomeKind.Success);

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(queue.TryDequeue()?.Stamp, Is.EqualTo(new FileStamp(99, 9)));
    }

    [Test]
    public void Complete_TransientFailures_BackOffExponentiallyUpToCap()
    {
        var queue = NewQueue(new ImportQueueOptions { InitialBackoff = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(8) });
        var item = Settle(queue, "/i/a.tar");
        var waits = new List<double>();
        for (var i = 0; i < 6; i++)
        {
            queue.Complete(item, ImportOutcomeKind.Transient);
            var waited = TimeSpan.Zero;
            QueueItem? next;
            while ((next = queue.TryDequeue()) is null)
            {
                Assert.That(waited, Is.LessThan(TimeSpan.FromMinutes(1)));
                _time.Advance(TimeSpan.FromMilliseconds(250));
                waited += TimeSpan.FromMilliseconds(250);
            }

            waits.Add(waited.TotalSeconds);
            Assert.That(next.Attempt, Is.EqualTo(item.Attempt + 1));
            item = next;
        }

        Assert.That(waits, Is.EqualTo(new[] { 1.0, 2, 4, 8, 8, 8 }));
    }

    [Test]
    public void Complete_TransientFailuresWithScansNotifyingAnUnchangedFile_BackoffKeepsGrowing()
    {
        // A periodic scan notifies every file it sees, also one in flight or backing off; an unchanged file must keep
        // its retry count (a sparse archive filling containerd's disk was retried every few seconds otherwise).
        var queue = NewQueue(new ImportQueueOptions { InitialBackoff = TimeSpan.FromSeconds(1), MaxBackoff = TimeSpan.FromSeconds(64) });
        var item = Settle(queue, "/i/big.tar");
        var waits = new List<double>();
        for (var i = 0; i < 6; i++)
        {
            queue.Notify("/i/big.tar");
            queue.Complete(item, ImportOutcomeKind.Transient);
            var waited = TimeSpan.Zero;
            QueueItem? next;
            while ((next = queue.TryDequeue()) is null)
            {
                Assert.That(waited, Is.LessThan(TimeSpan.FromMinutes(5)));
                _time.Advance(TimeSpan.FromMilliseconds(500));
                waited += TimeSpan.FromMilliseconds(500);
                queue.Notify("/i/big.tar");
            }

            waits.Add(waited.TotalSeconds);
            item = next;
        }

        Assert.That(waits, Is.EqualTo(new[] { 1.0, 2, 4, 8, 16, 32 }));
        Assert.That(item.Attempt, Is.EqualTo(7));
    }

    [Test]
    public void Complete_FileReplacedByRenameDuringImport_QueuedAgain()
    {
        var queue = NewQueue();
        var item = Settle(queue, "/i/a.tar");
        _files.Set("/i/a.tar", 100, 1, inode: 42);
        queue.Notify("/i/a.tar");
        queue.Complete(item, ImportOutcomeKind.Success);

        Assert.That(queue.PendingCount, Is.EqualTo(1), "same size and mtime, another inode: another file");
    }

    [Test]
    public void Complete_TransientFailure_DefaultsStartAtOneSecondCappedAtFiveMinutes()
    {
        var options = new ImportQueueOptions();
        Assert.That(options.InitialBackoff, Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(options.MaxBackoff, Is.EqualTo(TimeSpan.FromMinutes(5)));
        Assert.That(options.SettleTime, Is.EqualTo(TimeSpan.FromSeconds(2)));
    }

    [Test]
    public void Complete_PermanentFailure_ParkedUntilStampChanges()
    {
        var queue = NewQueue();
        var item = Settle(queue, "/i/bad.tar");
        queue.Complete(item, ImportOutcomeKind.Permanent);

        Assert.That(queue.Parked, Is.EqualTo(new[] { "/i/bad.tar" }));
        Assert.That(queue.PendingCount, Is.Zero);
        queue.Notify("/i/bad.tar");
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.That(queue.TryDequeue(), Is.Null, "same stamp: the same bad file");

        _files.Set("/i/bad.tar", 200, 2);
        queue.Notify("/i/bad.tar");
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(queue.TryDequeue(), Is.EqualTo(new QueueItem("/i/bad.tar", new FileStamp(200, 2), 1)));
        Assert.That(queue.Parked, Is.Empty);
    }

    [Test]
    public void Complete_PermanentFailureButChangedDuringImport_QueuedAgain()
    {
        var queue = NewQueue();
        var item = Settle(queue, "/i/a.tar");
        _files.Set("/i/a.tar", 99, 9);
        queue.Notify("/i/a.tar");
        queue.Complete(item, ImportOutcomeKind.Permanent);

        Assert.That(queue.Parked, Is.Empty, "the failure was likely the half-written file");
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.That(queue.TryDequeue()?.Stamp, Is.EqualTo(new FileStamp(99, 9)));
    }

    [Test]
    public void TryDequeue_SeveralDue_LexicalOrder()
    {
        var queue = NewQueue(new ImportQueueOptions { MaxConcurrency = 10 });
        foreach (var name in new[] { "/i/b.tar", "/i/00-pause.tar", "/i/a.tar", "/i/B.tar" })
        {
            _files.Set(name, 1, 1);
            queue.Notify(name);
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        var order = new List<string>();
        while (queue.TryDequeue() is { } item)
        {
            order.Add(item.Path);
        }

        Assert.That(order, Is.EqualTo(new[] { "/i/00-pause.tar", "/i/B.tar", "/i/a.tar", "/i/b.tar" }));
    }

    [Test]
    public void TryDequeue_ConcurrencyBound_HoldsBackUntilComplete()
    {
        var queue = NewQueue(new ImportQueueOptions { MaxConcurrency = 2 });
        foreach (var name in new[] { "/i/a.tar", "/i/b.tar", "/i/c.tar" })
        {
            _files.Set(name, 1, 1);
            queue.Notify(name);
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        var a = queue.TryDequeue();
        var b = queue.TryDequeue();
        Assert.That(queue.TryDequeue(), Is.Null, "two in flight");

        queue.Complete(a!, ImportOutcomeKind.Transient);
        Assert.That(queue.TryDequeue()?.Path, Is.EqualTo("/i/c.tar"), "a failed item still frees its slot");
        Assert.That(b?.Path, Is.EqualTo("/i/b.tar"));
    }

    [Test]
    public void Remove_WaitingFile_LeavesQueue()
    {
        var queue = NewQueue();
        _files.Set("/i/a.tar", 1, 1);
        queue.Notify("/i/a.tar");
        queue.Remove("/i/a.tar");
        _time.Advance(TimeSpan.FromSeconds(2));

        Assert.That(queue.TryDequeue(), Is.Null);
        Assert.That(queue.PendingCount, Is.Zero);
    }

    [Test]
    public void Remove_InFlightFile_LeavesOnCompleteEvenAfterFailure()
    {
        var queue = NewQueue();
        var item = Settle(queue, "/i/a.tar");
        queue.Remove("/i/a.tar");
        Assert.That(queue.PendingCount, Is.EqualTo(1), "still in flight");

        queue.Complete(item, ImportOutcomeKind.Transient);
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.That(queue.TryDequeue(), Is.Null);
        Assert.That(queue.PendingCount, Is.Zero);
    }

    [Test]
    public async Task DequeueAsync_NothingDueYet_CompletesWhenTimeReachesDue()
    {
        var queue = NewQueue();
        _files.Set("/i/a.tar", 1, 1);
        queue.Notify("/i/a.tar");
        var pending = queue.DequeueAsync(CancellationToken.None);
        Assert.That(pending.IsCompleted, Is.False);

        _time.Advance(TimeSpan.FromSeconds(2));
        var item = await pending.WaitAsync(Bound);
        Assert.That(item.Path, Is.EqualTo("/i/a.tar"));
    }

    [Test]
    public async Task DequeueAsync_EmptyThenNotified_Wakes()
    {
        var queue = NewQueue(new ImportQueueOptions { SettleTime = TimeSpan.Zero });
        var pending = queue.DequeueAsync(CancellationToken.None);
        Assert.That(pending.IsCompleted, Is.False);

        _files.Set("/i/a.tar", 1, 1);
        queue.Notify("/i/a.tar");
        Assert.That((await pending.WaitAsync(Bound)).Path, Is.EqualTo("/i/a.tar"));
    }

    [Test]
    public async Task DequeueAsync_SlotFreedByComplete_Wakes()
    {
        var queue = NewQueue(new ImportQueueOptions { MaxConcurrency = 1, SettleTime = TimeSpan.Zero });
        _files.Set("/i/a.tar", 1, 1);
        _files.Set("/i/b.tar", 1, 1);
        queue.Notify("/i/a.tar");
        queue.Notify("/i/b.tar");
        var a = await queue.DequeueAsync(CancellationToken.None).WaitAsync(Bound);
        var pending = queue.DequeueAsync(CancellationToken.None);
        Assert.That(pending.IsCompleted, Is.False);

        queue.Complete(a, ImportOutcomeKind.Success);
        Assert.That((await pending.WaitAsync(Bound)).Path, Is.EqualTo("/i/b.tar"));
    }

    [Test]
    public void DequeueAsync_Cancelled_Throws()
    {
        var queue = NewQueue();
        using var cancel = new CancellationTokenSource();
        var pending = queue.DequeueAsync(cancel.Token);
        cancel.Cancel();

        Assert.That(async () => await pending.WaitAsync(Bound), Throws.InstanceOf<OperationCanceledException>());
    }

    private ImportQueue NewQueue(ImportQueueOptions? options = null) => new(_files, _time, options);

    /// <summary>Notifies a fresh 100-byte file and lets it settle; returns the handed-out item.</summary>
    private QueueItem Settle(ImportQueue queue, string path)
    {
        _files.Set(path, 100, 1);
        queue.Notify(path);
        _time.Advance(TimeSpan.FromSeconds(2));
        return queue.TryDequeue() ?? throw new AssertionException("not handed out after settling");
    }
}
