using Imageimportd.Cache;
using Imageimportd.Daemon;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Oci;
using Imageimportd.Queue;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Unit;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;
using Serilog.Events;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class ImagePinKeeperTests
{
    private const string A = "/images/a.tar";
    private const string B = "/images/b.tar";
    private static readonly Descriptor Target = new(MediaTypes.OciIndex, Digest.FromString("index"), 5);
    private static readonly FileStamp StampA = new(10, 1_000);
    private static readonly FileStamp StampB = new(20, 2_000);

    private FakeTimeProvider _time = null!;
    private ImportCache _cache = null!;
    private CacheSaver _saver = null!;
    private InMemoryImageStore _store = null!;
    private FaultyImageStore _images = null!;
    private FakeFileProbe _probe = null!;
    private LogCapture _log = null!;

    [SetUp]
    public void SetUp()
    {
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 5, 0, 0, TimeSpan.Zero));
        _cache = ImportCache.InMemory(_time);
        _saver = new CacheSaver(_cache, _time, TimeSpan.FromSeconds(1), _ => { });
        _store = new InMemoryImageStore();
        _images = new FaultyImageStore(_store);
        _probe = new FakeFileProbe();
        _probe.Set(A, StampA.Size, StampA.ModifiedUnixNanoseconds);
        _probe.Set(B, StampB.Size, StampB.ModifiedUnixNanoseconds);
        _log = new LogCapture();
    }

    [TearDown]
    public void TearDown() => _saver.Dispose();

    [Test]
    public async Task RepinAsync_OneImageLostItsPin_RepinsItWithOneList()
    {
        SeedPinned("app:1");
        Seed("app:2");
        SeedPinned("db:1");
        _cache.Record(A, StampA, ["app:1", "app:2"]);
        _cache.Record(B, StampB, ["db:1"]);
        var keeper = NewKeeper();

        var reimport = await keeper.RepinAsync([(A, ["app:1", "app:2"]), (B, ["db:1"])], CancellationToken.None).WithTimeout();

        Assert.That(reimport, Is.Empty);
        Assert.That(_images.Lists, Is.EqualTo(1), "one List for the pass, whatever the number of files");
        Assert.That(_store.Updates, Is.EqualTo(1), "only the image that lost its pin is written");
        Assert.That(await IsPinnedByUsAsync("app:2"), Is.True);
        Assert.That(_log.Lines(), Does.Contain("/images/a.tar: re-pinned app:2"));
        Assert.That(keeper.IsImported(A, StampA), Is.True);
    }

    [Test]
    public async Task RepinAsync_ImageGone_FileMarkedForReimport()
    {
        SeedPinned("db:1");
        _cache.Record(A, StampA, ["app:1"]);
        _cache.Record(B, StampB, ["db:1"]);
        var keeper = NewKeeper();

        var reimport = await keeper.RepinAsync([(A, ["app:1"]), (B, ["db:1"])], CancellationToken.None).WithTimeout();

        Assert.That(reimport, Is.EquivalentTo(new[] { A }));
        Assert.That(keeper.IsImported(A, StampA), Is.False);
        Assert.That(keeper.IsImported(B, StampB), Is.True);
    }

    [Test]
    public async Task RepinAsync_ListFails_EveryFileMarkedForReimport()
    {
        SeedPinned("app:1");
        _cache.Record(A, StampA, ["app:1"]);
        _cache.Record(B, StampB, []);
        _images.ReadFault = new BackendException(FailureKind.Unavailable, "connection refused");
        var keeper = NewKeeper();

        var reimport = await keeper.RepinAsync([(A, ["app:1"]), (B, [])], CancellationToken.None).WithTimeout();

        Assert.That(reimport, Is.EquivalentTo(new[] { A, B }));
        Assert.That(_images.Lists, Is.EqualTo(1));
        Assert.That(_log.Lines(LogEventLevel.Warning), Has.One.Contains("cannot list images to check the cached files: connection refused"));
    }

    [Test]
    public async Task RepinAsync_RepinRefused_FileMarkedForReimport()
    {
        Seed("app:1");
        _cache.Record(A, StampA, ["app:1"]);
        _store.WriteFault = _ => new BackendException(FailureKind.Unavailable, "busy");
        var keeper = NewKeeper();

        var reimport = await keeper.RepinAsync([(A, ["app:1"])], CancellationToken.None).WithTimeout();

        Assert.That(reimport, Is.EquivalentTo(new[] { A }));
        Assert.That(_log.Lines(LogEventLevel.Warning), Has.One.EqualTo("/images/a.tar: cannot re-pin app:1: busy"));
    }

    [Test]
    public async Task RepinAsync_PinningOff_NothingWritten()
    {
        Seed("app:1");
        _cache.Record(A, StampA, ["app:1"]);
        var keeper = NewKeeper(pin: false);

        var reimport = await keeper.RepinAsync([(A, ["app:1"])], CancellationToken.None).WithTimeout();

        Assert.That(reimport, Is.Empty);
        Assert.That(_store.Writes, Is.Zero);
    }

    [Test]
    public async Task RecordAsync_MarkedFileRecordedAgain_ImportedAgain()
    {
        _cache.Record(A, StampA, ["app:1"]);
        _cache.MarkForReimport(A);
        var keeper = NewKeeper();

        await keeper.RecordAsync(A, StampA, ["app:1"], CancellationToken.None).WithTimeout();

        Assert.That(keeper.IsImported(A, StampA), Is.True);
    }

    [Test]
    public async Task RecordAsync_ReimportDropsAName_UnpinsIt()
    {
        SeedPinned("app:1");
        SeedPinned("app@sha256:old");
        _cache.Record(A, StampA, ["app:1", "app@sha256:old"]);
        var keeper = NewKeeper();

        await keeper.RecordAsync(A, StampA with { Size = 11 }, ["app:1", "app@sha256:new"], CancellationToken.None).WithTimeout();

        Assert.That(await IsPinnedByUsAsync("app@sha256:old"), Is.False);
        Assert.That(await IsPinnedByUsAsync("app:1"), Is.True);
        Assert.That(keeper.PendingUnpins, Is.Empty);
        Assert.That(_log.Lines(), Does.Contain("/images/a.tar: unpinned [app@sha256:old], which it no longer supplies"));
    }

    [Test]
    public async Task RecordAsync_DroppedNameSuppliedByAnotherPresentFile_StaysPinned()
    {
        SeedPinned("shared:1");
        _cache.Record(A, StampA, ["shared:1"]);
        _cache.Record(B, StampB, ["shared:1"]);
        var keeper = NewKeeper();

        await keeper.RecordAsync(A, StampA, [], CancellationToken.None).WithTimeout();

        Assert.That(await IsPinnedByUsAsync("shared:1"), Is.True);
        Assert.That(_store.Updates, Is.Zero);
        Assert.That(keeper.PendingUnpins, Is.Empty);
    }

    [Test]
    public async Task RecordAsync_UnpinRefused_RetriedByTheNextScan()
    {
        SeedPinned("app:old");
        _cache.Record(A, StampA, ["app:old"]);
        _store.WriteFault = _ => new BackendException(FailureKind.Unavailable, "containerd restarting");
        var keeper = NewKeeper();

        await keeper.RecordAsync(A, StampA, ["app:new"], CancellationToken.None).WithTimeout();
        var pendingAfterFailure = keeper.PendingUnpins;
        _store.WriteFault = null;
        await keeper.RetryUnpinsAsync(CancellationToken.None).WithTimeout();

        Assert.That(pendingAfterFailure, Is.EquivalentTo(new[] { "app:old" }));
        Assert.That(_log.Lines(LogEventLevel.Warning), Has.One.EqualTo("/images/a.tar: could not unpin app:old, which it no longer supplies: containerd restarting; will retry"));
        Assert.That(await IsPinnedByUsAsync("app:old"), Is.False);
        Assert.That(keeper.PendingUnpins, Is.Empty);
        Assert.That(_log.Lines(), Does.Contain("/images/a.tar: unpinned [app:old], which it no longer supplies"));
    }

    [Test]
    public async Task RetryUnpinsAsync_StillRefused_StaysPendingWithoutAnotherWarning()
    {
        SeedPinned("app:old");
        _cache.Record(A, StampA, ["app:old"]);
        _store.WriteFault = _ => new BackendException(FailureKind.Unavailable, "down");
        var keeper = NewKeeper();
        await keeper.RecordAsync(A, StampA, [], CancellationToken.None).WithTimeout();

        await keeper.RetryUnpinsAsync(CancellationToken.None).WithTimeout();
        await keeper.RetryUnpinsAsync(CancellationToken.None).WithTimeout();

        Assert.That(keeper.PendingUnpins, Is.EquivalentTo(new[] { "app:old" }));
        Assert.That(_log.Lines(LogEventLevel.Warning), Has.Count.EqualTo(1));
        Assert.That(await IsPinnedByUsAsync("app:old"), Is.True);
    }

    [Test]
    public async Task RetryUnpinsAsync_NameSuppliedAgainMeanwhile_DroppedWithoutUnpinning()
    {
        SeedPinned("app:1");
        _cache.Record(A, StampA, ["app:1"]);
        _store.WriteFault = _ => new BackendException(FailureKind.Unavailable, "down");
        var keeper = NewKeeper();
        await keeper.RecordAsync(A, StampA, [], CancellationToken.None).WithTimeout();
        _store.WriteFault = null;
        await keeper.RecordAsync(A, StampA with { Size = 12 }, ["app:1"], CancellationToken.None).WithTimeout();
        _probe.Set(A, 12, StampA.ModifiedUnixNanoseconds);

        await keeper.RetryUnpinsAsync(CancellationToken.None).WithTimeout();

        Assert.That(keeper.PendingUnpins, Is.Empty);
        Assert.That(await IsPinnedByUsAsync("app:1"), Is.True);
    }

    [Test]
    public async Task RetryUnpinsAsync_PinRemovedMeanwhile_Dropped()
    {
        SeedPinned("app:old");
        _cache.Record(A, StampA, ["app:old"]);
        _images.ReadFault = new BackendException(FailureKind.Unavailable, "down");
        var keeper = NewKeeper();
        await keeper.RecordAsync(A, StampA, [], CancellationToken.None).WithTimeout();
        _images.ReadFault = null;
        var unpinnedByHand = await _store.GetAsync("app:old", CancellationToken.None).WithTimeout();
        await new ImageRecords(_store).UnpinAsync(unpinnedByHand!, CancellationToken.None).WithTimeout();

        await keeper.RetryUnpinsAsync(CancellationToken.None).WithTimeout();

        Assert.That(keeper.PendingUnpins, Is.Empty);
    }

    [Test]
    public async Task UnpinGoneAsync_FileGone_UnpinsWhatNoPresentFileSuppliesAndForgetsIt()
    {
        SeedPinned("app:1");
        SeedPinned("shared:1");
        _cache.Record(A, StampA, ["app:1", "shared:1"]);
        _cache.Record(B, StampB, ["shared:1"]);
        var keeper = NewKeeper();

        await keeper.UnpinGoneAsync([A], new HashSet<string> { B }, CancellationToken.None).WithTimeout();

        Assert.That(await IsPinnedByUsAsync("app:1"), Is.False);
        Assert.That(await IsPinnedByUsAsync("shared:1"), Is.True);
        Assert.That(_cache.TryGet(A, out _), Is.False);
        Assert.That(_images.Lists, Is.EqualTo(1));
        Assert.That(_log.Lines(), Does.Contain("unpinned /images/a.tar: [app:1]"));
    }

    [Test]
    public async Task UnpinGoneAsync_ContainerdFails_EntryKeptForTheNextScan()
    {
        SeedPinned("app:1");
        _cache.Record(A, StampA, ["app:1"]);
        _images.ReadFault = new BackendException(FailureKind.Unavailable, "down");
        var keeper = NewKeeper();

        await keeper.UnpinGoneAsync([A], new HashSet<string>(), CancellationToken.None).WithTimeout();

        Assert.That(_cache.TryGet(A, out _), Is.True);
        Assert.That(_log.Lines(LogEventLevel.Warning), Has.One.EqualTo("could not unpin the images of 1 removed file(s): down; will retry"));
    }

    [Test]
    public async Task UnpinGoneAsync_ImagePinnedBySomeoneElse_LeftPinned()
    {
        _store.Seed(new ImageRecord("pause:3", Target, new Dictionary<string, string> { [ImageLabels.CriPinned] = ImageLabels.CriPinnedValue }));
        _cache.Record(A, StampA, ["pause:3"]);
        var keeper = NewKeeper();

        await keeper.UnpinGoneAsync([A], new HashSet<string>(), CancellationToken.None).WithTimeout();

        Assert.That(_store.Writes, Is.Zero);
        Assert.That(_cache.Count, Is.Zero);
    }

    private ImagePinKeeper NewKeeper(bool pin = true) => Keepers.For(_cache, _saver, _images, _log.Logger, pin, _probe);

    private void Seed(string name) => _store.Seed(new ImageRecord(name, Target, new Dictionary<string, string>()));

    private void SeedPinned(string name) => _store.Seed(new ImageRecord(name, Target, new Dictionary<string, string>
    {
        [ImageLabels.CriPinned] = ImageLabels.CriPinnedValue,
        [ImageLabels.Pinned] = ImageLabels.PinnedValue,
    }));

    private async Task<bool> IsPinnedByUsAsync(string name) =>
        ImageRecords.IsPinnedByUs((await _store.GetAsync(name, CancellationToken.None).WithTimeout())!.Labels);
}
