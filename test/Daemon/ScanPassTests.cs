using Imageimportd.Cache;
using Imageimportd.Daemon;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Oci;
using Imageimportd.Queue;
using Imageimportd.Scan;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Unit;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Serilog.Events;
using TempDirectory = Imageimportd.Tests.Harness.TempDirectory;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class ScanPassTests
{
    private static readonly Descriptor Target = new(MediaTypes.OciIndex, Digest.FromString("index"), 5);

    private TempDirectory _dir = null!;
    private FakeTimeProvider _time = null!;
    private ImportCache _cache = null!;
    private CacheSaver _saver = null!;
    private InMemoryImageStore _store = null!;
    private ImportQueue _queue = null!;
    private RecordingObserver _observer = null!;
    private LogCapture _log = null!;
    private ImagePinKeeper _keeper = null!;
    private ScanPass _pass = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory("iid-scanpass-");
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero));
        _cache = ImportCache.InMemory(_time);
        _saver = new CacheSaver(_cache, _time, TimeSpan.FromSeconds(1), _ => { });
        _store = new InMemoryImageStore();
        _queue = new ImportQueue(StatFileProbe.Instance, _time);
        _observer = new RecordingObserver();
        _log = new LogCapture();
        _keeper = Keepers.For(_cache, _saver, _store, _log.Logger);
        _pass = new ScanPass(_dir.Path, new DirectoryScan(), StatFileProbe.Instance, _cache, _keeper, _queue, _observer, _log.Logger);
    }

    [TearDown]
    public void TearDown()
    {
        _saver.Dispose();
        _dir.Dispose();
    }

    [Test]
    public async Task RunAsync_NewChangedAndUnchangedFiles_QueuesOnlyNewAndChanged()
    {
        var unchanged = Imported("a.tar", "app:1");
        var changed = Imported("c.tar", "db:1");
        File.AppendAllText(changed, "more");
        var added = _dir.Write("b.tar.zst", [1]);
        _dir.Write("notes.md", [1]);

        var summary = await _pass.RunAsync(initial: false, CancellationToken.None).WithTimeout();

        Assert.That(summary.Queued, Is.EqualTo(new[] { added, changed }));
        Assert.That(summary.Unchanged, Is.EqualTo(new[] { unchanged }));
        Assert.That(summary.Gone, Is.Empty);
        Assert.That(_queue.Snapshot().Select(e => e.Path), Is.EqualTo(new[] { added, changed }));
        Assert.That(_observer.Calls, Is.EqualTo(new[] { "scan" }), "a later pass trusts the cache and says nothing per file");
    }

    [Test]
    public async Task RunAsync_InitialPassImagesPresent_ReportsUnchangedWithoutWrites()
    {
        var file = Imported("a.tar", "app:1");
        SeedPinned("app:1");

        var summary = await _pass.RunAsync(initial: true, CancellationToken.None).WithTimeout();

        Assert.That(summary.Queued, Is.Empty);
        Assert.That(_store.Writes, Is.Zero);
        Assert.That(_observer.Calls, Is.EqualTo(new[] { "unchanged " + file, "scan initial" }));
    }

    [Test]
    public async Task RunAsync_InitialPassImageGone_QueuesTheFileUntilItIsRecordedAgain()
    {
        var file = Imported("a.tar", "app:1");

        var initial = await _pass.RunAsync(initial: true, CancellationToken.None).WithTimeout();
        var later = await _pass.RunAsync(initial: false, CancellationToken.None).WithTimeout();
        await _keeper.RecordAsync(file, StatFileProbe.Instance.Probe(file)!.Value, ["app:1"], CancellationToken.None).WithTimeout();
        var afterImport = await _pass.RunAsync(initial: false, CancellationToken.None).WithTimeout();

        Assert.That(initial.Queued, Is.EqualTo(new[] { file }));
        Assert.That(later.Queued, Is.EqualTo(new[] { file }), "until imported, each pass hands it out again");
        Assert.That(afterImport.Queued, Is.Empty);
        Assert.That(_observer.Calls, Does.Not.Contain("unchanged " + file));
    }

    [Test]
    public async Task RunAsync_CachedFileGone_UnpinsItsImagesAndForgetsIt()
    {
        var gone = Imported("gone.tar", "app:1");
        File.Delete(gone);
        SeedPinned("app:1");
        _cache.Record("/elsewhere/other.tar", new FileStamp(1, 1), ["other:1"]);

        var summary = await _pass.RunAsync(initial: false, CancellationToken.None).WithTimeout();

        Assert.That(summary.Gone, Is.EqualTo(new[] { gone }));
        Assert.That(_cache.TryGet(gone, out _), Is.False);
        Assert.That(_cache.TryGet("/elsewhere/other.tar", out _), Is.True, "an entry outside the directory is not this scan's");
        Assert.That(ImageRecords.IsPinnedByUs((await _store.GetAsync("app:1", CancellationToken.None).WithTimeout())!.Labels), Is.False);
    }

    [Test]
    public async Task RunAsync_PendingUnpin_RetriedByThePass()
    {
        var file = Imported("a.tar", "app:old");
        SeedPinned("app:old");
        _store.WriteFault = _ => new BackendException(FailureKind.Unavailable, "down");
        await _keeper.RecordAsync(file, StatFileProbe.Instance.Probe(file)!.Value, ["app:new"], CancellationToken.None).WithTimeout();
        _store.WriteFault = null;

        await _pass.RunAsync(initial: false, CancellationToken.None).WithTimeout();

        Assert.That(_keeper.PendingUnpins, Is.Empty);
        Assert.That(ImageRecords.IsPinnedByUs((await _store.GetAsync("app:old", CancellationToken.None).WithTimeout())!.Labels), Is.False);
    }

    [Test]
    public async Task RunAsync_FileWritableByOthers_WarnedOnceAcrossPasses()
    {
        var file = _dir.Write("a.tar", [1]);
        File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherWrite);

        await _pass.RunAsync(initial: true, CancellationToken.None).WithTimeout();
        await _pass.RunAsync(initial: false, CancellationToken.None).WithTimeout();

        Assert.That(_log.Lines(LogEventLevel.Warning), Is.EqualTo(new[]
        {
            $"{file} is writable by group or others: whoever can write there can put images on this node",
        }));
    }

    [Test]
    public async Task RunAsync_InitialPassK3sEntry_QueuedWithOneLineSayingWhy()
    {
        var file = _dir.Write("a.tar", [1, 2, 3]);
        var stamp = StatFileProbe.Instance.Probe(file)!.Value;
        var seconds = stamp.ModifiedUnixNanoseconds / 1_000_000_000;
        var cachePath = _dir.Combine(".cache.json");
        var modTime = DateTimeOffset.FromUnixTimeSeconds(seconds).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllText(cachePath, "{\"" + file + "\": {\"size\": 3, \"modTime\": \"" + modTime + "\"}}");
        _cache = ImportCache.Load(cachePath, _time);
        _pass = new ScanPass(_dir.Path, new DirectoryScan(), StatFileProbe.Instance, _cache, _keeper, _queue, _observer, _log.Logger);

        var summary = await _pass.RunAsync(initial: true, CancellationToken.None).WithTimeout();

        Assert.That(summary.Queued, Is.EqualTo(new[] { file }));
        Assert.That(_log.Lines(LogEventLevel.Information), Has.One.StartsWith(file + ": its cache entry comes from k3s and names no images"));
    }

    /// <summary>A file on disk with a cache entry matching it as it is now.</summary>
    private string Imported(string name, params string[] images)
    {
        var path = _dir.Write(name, [1, 2, 3]);
        _cache.Record(path, StatFileProbe.Instance.Probe(path)!.Value, images);
        return path;
    }

    private void SeedPinned(string name) => _store.Seed(new ImageRecord(name, Target, new Dictionary<string, string>
    {
        [ImageLabels.CriPinned] = ImageLabels.CriPinnedValue,
        [ImageLabels.Pinned] = ImageLabels.PinnedValue,
    }));
}
