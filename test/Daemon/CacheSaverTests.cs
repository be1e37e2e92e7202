using Imageimportd.Cache;
using Imageimportd.Queue;
using Imageimportd.Tests.Harness;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class CacheSaverTests
{
    private TempDirectory _dir = null!;
    private FakeTimeProvider _time = null!;
    private ImportCache _cache = null!;
    private List<ImportCacheWriteException> _failures = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory("iid-saver-");
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 20, 0, 0, TimeSpan.Zero));
        _cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        _failures = [];
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public void Changed_ThousandsOfFilesWithinOneInterval_OneWrite()
    {
        using var saver = NewSaver();
        for (var i = 0; i < 5000; i++)
        {
            _cache.Record(_dir.Combine($"{i}.tar"), new FileStamp(i, i), []);
            saver.Changed();
        }

        Assert.That(_cache.Saves, Is.Zero, "nothing is written before the interval ends");
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(_cache.Saves, Is.EqualTo(1));
        Assert.That(ImportCache.Load(_cache.FilePath!, _time).Count, Is.EqualTo(5000));
    }

    [Test]
    public void Changed_SteadyStreamOverTenSeconds_AtMostOneWritePerInterval()
    {
        using var saver = NewSaver();
        for (var i = 0; i < 1000; i++)
        {
            _cache.Record(_dir.Combine($"{i}.tar"), new FileStamp(i, i), []);
            saver.Changed();
            _time.Advance(TimeSpan.FromMilliseconds(10));
        }

        Assert.That(_cache.Saves, Is.InRange(9, 10));
    }

    [Test]
    public void Flush_Dirty_WritesAtOnceAndCancelsThePendingWrite()
    {
        using var saver = NewSaver();
        _cache.Record(_dir.Combine("a.tar"), new FileStamp(1, 1), []);
        saver.Changed();

        saver.Flush();
        _time.Advance(TimeSpan.FromSeconds(5));
        saver.Flush();

        Assert.That(_cache.Saves, Is.EqualTo(1), "a clean cache is not written again");
    }

    [Test]
    public void Dispose_Dirty_Writes()
    {
        var saver = NewSaver();
        _cache.Record(_dir.Combine("a.tar"), new FileStamp(1, 1), []);
        saver.Changed();

        saver.Dispose();

        Assert.That(_cache.Saves, Is.EqualTo(1));
    }

    [Test]
    public void Changed_SaveFails_ReportedAndRetriedOnNextChange()
    {
        File.WriteAllText(_dir.Combine("not-a-dir"), "x");
        _cache = ImportCache.Load(_dir.Combine("not-a-dir", ".cache.json"), _time);
        using var saver = NewSaver();
        _cache.Record(_dir.Combine("a.tar"), new FileStamp(1, 1), []);
        saver.Changed();
        _time.Advance(TimeSpan.FromSeconds(1));
        saver.Changed();
        _time.Advance(TimeSpan.FromSeconds(1));

        Assert.That(_failures, Has.Count.EqualTo(2));
        Assert.That(_cache.IsDirty, Is.True);
    }

    private CacheSaver NewSaver() => new(_cache, _time, TimeSpan.FromSeconds(1), _failures.Add);
}
