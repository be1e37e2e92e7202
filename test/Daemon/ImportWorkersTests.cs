using Imageimportd.Cache;
using Imageimportd.Content;
using Imageimportd.Daemon;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Import;
using Imageimportd.Queue;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Unit;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Serilog.Events;
using TempDirectory = Imageimportd.Tests.Harness.TempDirectory;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class ImportWorkersTests
{
    private TempDirectory _dir = null!;
    private FakeTimeProvider _time = null!;
    private InMemoryBackend _backend = null!;
    private ImportCache _cache = null!;
    private CacheSaver _saver = null!;
    private ImportQueue _queue = null!;
    private ImagePinKeeper _keeper = null!;
    private RecordingNotifier _notifier = null!;
    private Readiness _readiness = null!;
    private RecordingObserver _observer = null!;
    private LogCapture _log = null!;
    private CancellationTokenSource _stop = null!;
    private CancellationTokenSource _abort = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory("iid-workers-");
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero));
        _backend = new InMemoryBackend();
        _cache = ImportCache.InMemory(_time);
        _saver = new CacheSaver(_cache, _time, TimeSpan.FromSeconds(1), _ => { });
        _queue = new ImportQueue(StatFileProbe.Instance, _time, new ImportQueueOptions { SettleTime = TimeSpan.Zero, MaxConcurrency = 2 });
        _log = new LogCapture();
        _observer = new RecordingObserver();
        _keeper = Keepers.For(_cache, _saver, _backend.Images, _log.Logger);
        _notifier = new RecordingNotifier();
        _readiness = new Readiness(_notifier, _queue, _keeper.Flush, _observer, _log.Logger, _dir.Path, _time);
        _stop = new CancellationTokenSource();
        _abort = new CancellationTokenSource();
    }

    [TearDown]
    public void TearDown()
    {
        _stop.Dispose();
        _abort.Dispose();
        _saver.Dispose();
        _dir.Dispose();
    }

    [TestCase(FailureKind.Unavailable, ImportOutcomeKind.Transient)]
    [TestCase(FailureKind.DeadlineExceeded, ImportOutcomeKind.Transient)]
    [TestCase(FailureKind.ResourceExhausted, ImportOutcomeKind.Transient)]
    [TestCase(FailureKind.Aborted, ImportOutcomeKind.Transient)]
    [TestCase(FailureKind.InvalidArgument, ImportOutcomeKind.Permanent)]
    [TestCase(FailureKind.NotFound, ImportOutcomeKind.Permanent)]
    public void Classify_ContainerdError_ByItsKind(FailureKind kind, ImportOutcomeKind expected) =>
        Assert.That(ImportWorkers.Classify(new BackendException(kind, "x")), Is.EqualTo(expected));

    [Test]
    public void Classify_FileGoneOrBadArchive_TransientOrPermanent()
    {
        Assert.That(ImportWorkers.Classify(new FileNotFoundException()), Is.EqualTo(ImportOutcomeKind.Transient));
        Assert.That(ImportWorkers.Classify(new InvalidDataException("not a tar")), Is.EqualTo(ImportOutcomeKind.Permanent));
    }

    [Test]
    public async Task RunAsync_Archive_ImportedRecordedAndReady()
    {
        var path = _dir.Write("alpine.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("base")), "alpine:3.19"));
        _queue.Notify(path);
        _readiness.InitialScanDone();

        var run = NewWorkers().RunAsync(_stop.Token, _abort.Token);
        await _notifier.WaitForAsync("READY=1");
        await StopAsync(run);

        Assert.That(_cache.TryGet(path, out var entry), Is.True);
        Assert.That(entry.Images, Has.Count.EqualTo(2).And.Contains("docker.io/library/alpine:3.19"));
        Assert.That(_keeper.IsImported(path, StatFileProbe.Instance.Probe(path)!.Value), Is.True);
        Assert.That(_readiness.Imported, Is.EqualTo(1));
        Assert.That(_observer.Calls, Has.One.StartsWith($"succeeded {path} [docker.io/library/alpine:3.19, "));
        Assert.That(_log.Lines(LogEventLevel.Information), Has.One.StartsWith($"imported {path}: "));
        Assert.That(_notifier.Sent, Does.Contain("STATUS=importing alpine.tar"));
    }

    [Test]
    public async Task RunAsync_FileAlreadyImportedAsItIs_CompletedWithoutWork()
    {
        var path = _dir.Write("alpine.tar", [1, 2, 3]);
        _cache.Record(path, StatFileProbe.Instance.Probe(path)!.Value, ["alpine:3.19"]);
        _queue.Notify(path);
        _readiness.InitialScanDone();

        var run = NewWorkers().RunAsync(_stop.Token, _abort.Token);
        await _notifier.WaitForAsync("READY=1");
        await StopAsync(run);

        Assert.That(_observer.Calls, Is.EqualTo(new[] { "ready" }));
        Assert.That(_readiness.Imported, Is.Zero);
    }

    [Test]
    public async Task RunAsync_NotAnArchive_ParkedAsPermanent()
    {
        var path = _dir.Write("junk.tar", "this is not a tar archive at all"u8.ToArray());
        _queue.Notify(path);

        var run = NewWorkers().RunAsync(_stop.Token, _abort.Token);
        await _observer.WaitForAsync($"failed {path} Permanent");
        await Until.TrueAsync(() => _queue.Parked.Contains(path), "the file to be parked");
        await StopAsync(run);

        Assert.That(_cache.Count, Is.Zero);
        Assert.That(_log.Lines(LogEventLevel.Error), Has.One.StartsWith($"failed {path}: "));
    }

    [Test]
    public async Task RunAsync_ContainerdUnavailable_TransientThenRetriedAfterBackoff()
    {
        var path = _dir.Write("alpine.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("base")), "alpine:3.19"));
        _backend.ImageStore.WriteFault = _ => new BackendException(FailureKind.Unavailable, "containerd restarting");
        _queue.Notify(path);

        var run = NewWorkers().RunAsync(_stop.Token, _abort.Token);
        await _observer.WaitForAsync($"failed {path} Transient");
        await Until.TrueAsync(() => _queue.Snapshot().Any(e => e.State == QueueEntryState.Retrying), "the file to back off");
        _backend.ImageStore.WriteFault = null;
        _time.Advance(TimeSpan.FromSeconds(1));
        await _observer.WaitForAsync(c => c.StartsWith("succeeded " + path, StringComparison.Ordinal));
        await StopAsync(run);

        Assert.That(_cache.TryGet(path, out _), Is.True);
    }

    [Test]
    public async Task RunAsync_PullList_HandledAndRecorded()
    {
        var path = _dir.Write("images.txt", "docker.io/library/redis:7\n"u8.ToArray());
        _queue.Notify(path);
        _readiness.InitialScanDone();

        var run = NewWorkers(new FakePullLists((_, _) => Task.FromResult<IReadOnlyList<string>>(["docker.io/library/redis:7"]))).RunAsync(_stop.Token, _abort.Token);
        await _notifier.WaitForAsync("READY=1");
        await StopAsync(run);

        Assert.That(_cache.TryGet(path, out var entry) ? entry.Images : [], Is.EqualTo(new[] { "docker.io/library/redis:7" }));
        Assert.That(_observer.Calls, Does.Contain($"succeeded {path} [docker.io/library/redis:7]"));
    }

    [Test]
    public async Task RunAsync_PullListWithoutHandler_SucceedsDoingNothing()
    {
        var path = _dir.Write("images.txt", "docker.io/library/redis:7\n"u8.ToArray());
        _queue.Notify(path);
        _readiness.InitialScanDone();

        var run = NewWorkers().RunAsync(_stop.Token, _abort.Token);
        await _notifier.WaitForAsync("READY=1");
        await StopAsync(run);

        Assert.That(_cache.Count, Is.Zero);
        Assert.That(_queue.PendingCount, Is.Zero);
    }

    [Test]
    public async Task RunAsync_ShutdownTimeoutAbortsImportInFlight_LoggedAndTransient()
    {
        var path = _dir.Write("images.txt", "docker.io/library/redis:7\n"u8.ToArray());
        _queue.Notify(path);
        var pulls = new FakePullLists(async (_, cancellationToken) =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            return [];
        });

        var run = NewWorkers(pulls).RunAsync(_stop.Token, _abort.Token);
        await _observer.WaitForAsync("started " + path);
        await _stop.CancelAsync();
        await _abort.CancelAsync();
        await run.WithTimeout();

        Assert.That(_log.Lines(LogEventLevel.Warning), Is.EqualTo(new[] { $"aborted {path}: shutdown timeout; it will be imported at the next start" }));
        Assert.That(_cache.Count, Is.Zero);
        Assert.That(_queue.Snapshot().Single().State, Is.EqualTo(QueueEntryState.Retrying));
    }

    [Test]
    public async Task RunAsync_Stopped_FinishesTheFileInFlightWithoutTakingAnother()
    {
        var first = _dir.Write("a.txt", "x\n"u8.ToArray());
        var release = new TaskCompletionSource<IReadOnlyList<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var pulls = new FakePullLists((_, _) => release.Task);
        _queue.Notify(first);

        var run = NewWorkers(pulls, count: 1).RunAsync(_stop.Token, _abort.Token);
        await _observer.WaitForAsync("started " + first);
        var second = _dir.Write("b.txt", "y\n"u8.ToArray());
        _queue.Notify(second);
        await _stop.CancelAsync();
        release.SetResult(["x:1"]);
        await run.WithTimeout();

        Assert.That(_cache.TryGet(first, out _), Is.True, "the file in flight finished");
        Assert.That(_observer.Calls, Does.Not.Contain("started " + second));
    }

    private ImportWorkers NewWorkers(IPullListHandler? pulls = null, int count = 2) => new(
        count,
        _queue,
        new FileImporter(_backend, new ImportOptions { Host = ImageBuilder.LinuxAmd64, ContentWrite = new ContentWriteOptions { ChunkBytes = 4096 } }),
        pulls,
        _keeper,
        _readiness,
        _observer,
        _log.Logger,
        _time);

    private async Task StopAsync(Task run)
    {
        await _stop.CancelAsync();
        await run.WithTimeout();
    }

    private sealed class FakePullLists(Func<string, CancellationToken, Task<IReadOnlyList<string>>> handle) : IPullListHandler
    {
        public Task<IReadOnlyList<string>> HandleAsync(string path, CancellationToken cancellationToken) => handle(path, cancellationToken);
    }
}
