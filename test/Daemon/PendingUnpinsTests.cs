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

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class PendingUnpinsTests
{
    private static readonly Descriptor Target = new(MediaTypes.OciIndex, Digest.FromString("index"), 5);

    private ImportCache _cache = null!;
    private InMemoryImageStore _store = null!;
    private FaultyImageStore _images = null!;
    private LogCapture _log = null!;
    private PendingUnpins _unpins = null!;

    [SetUp]
    public void SetUp()
    {
        _cache = ImportCache.InMemory(new FakeTimeProvider());
        _store = new InMemoryImageStore();
        _images = new FaultyImageStore(_store);
        _log = new LogCapture();
        _unpins = new PendingUnpins(_cache, new ImageRecords(_images), new FakeFileProbe(), _log.Logger);
        _store.Seed(new ImageRecord("app:old", Target, new Dictionary<string, string>
        {
            [ImageLabels.CriPinned] = ImageLabels.CriPinnedValue,
            [ImageLabels.Pinned] = ImageLabels.PinnedValue,
        }));
    }

    [Test]
    public async Task RetryAsync_NothingOwed_AsksContainerdNothing()
    {
        await _unpins.RetryAsync(CancellationToken.None).WithTimeout();

        Assert.That(_images.Gets + _images.Lists, Is.Zero);
    }

    [Test]
    public async Task AddAsync_NameOwedAgainByALaterFile_UnpinnedOnceUnderThatFile()
    {
        _images.ReadFault = new BackendException(FailureKind.Unavailable, "down");
        await _unpins.AddAsync("/images/a.tar", ["app:old"], CancellationToken.None).WithTimeout();
        await _unpins.AddAsync("/images/b.tar", ["app:old"], CancellationToken.None).WithTimeout();
        _images.ReadFault = null;

        await _unpins.RetryAsync(CancellationToken.None).WithTimeout();

        Assert.That(_unpins.Names, Is.Empty);
        Assert.That(_log.Lines(), Has.One.EqualTo("/images/b.tar: unpinned [app:old], which it no longer supplies"));
        Assert.That(_store.Updates, Is.EqualTo(1));
    }

    [Test]
    public async Task RetryAsync_Cancelled_StaysOwed()
    {
        _images.ReadFault = new BackendException(FailureKind.Unavailable, "down");
        await _unpins.AddAsync("/images/a.tar", ["app:old"], CancellationToken.None).WithTimeout();
        _images.ReadFault = null;

        await AsyncAssert.ThrowsAsync<OperationCanceledException>(() => _unpins.RetryAsync(new CancellationToken(canceled: true)));

        Assert.That(_unpins.Names, Is.EqualTo(new[] { "app:old" }));
    }

    [Test]
    public async Task AddAsync_FileStillPresentSuppliesIt_NotUnpinned()
    {
        var probe = new FakeFileProbe();
        probe.Set("/images/b.tar", 1, 1);
        _cache.Record("/images/b.tar", new FileStamp(1, 1), ["app:old"]);
        var unpins = new PendingUnpins(_cache, new ImageRecords(_images), probe, _log.Logger);

        await unpins.AddAsync("/images/a.tar", ["app:old"], CancellationToken.None).WithTimeout();

        Assert.That(unpins.Names, Is.Empty);
        Assert.That(_images.Gets, Is.Zero);
        Assert.That(_store.Updates, Is.Zero);
    }
}
