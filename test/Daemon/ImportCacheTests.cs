using System.Text.Json;
using System.Text.RegularExpressions;
using Imageimportd.Cache;
using Imageimportd.Queue;
using Imageimportd.Tests.Harness;
using Microsoft.Extensions.Time.Testing;
using NUnit.Framework;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed partial class ImportCacheTests
{
    // 2024-05-01T10:00:00Z
    private const long May1 = 1_714_557_600L * 1_000_000_000;

    private TempDirectory _dir = null!;
    private FakeTimeProvider _time = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory("iid-cache-");
        _time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 27, 20, 0, 0, TimeSpan.Zero));
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public void TryGetCurrent_MarkedForReimport_FalseUntilRecordedAgain()
    {
        var cache = ImportCache.InMemory(_time);
        var path = _dir.Combine("a.tar");
        var stamp = new FileStamp(10, May1);
        cache.Record(path, stamp, ["a:1"]);

        cache.MarkForReimport(path);
        var marked = cache.TryGetCurrent(path, stamp, out _);
        cache.Record(path, stamp, ["a:1"]);

        Assert.That(marked, Is.False);
        Assert.That(cache.TryGetCurrent(path, stamp, out var entry), Is.True);
        Assert.That(entry.Images, Is.EqualTo(new[] { "a:1" }));
        Assert.That(cache.IsDirty, Is.True);
    }

    [Test]
    public void MarkForReimport_ForgottenThenRecorded_MarkGone()
    {
        var cache = ImportCache.InMemory(_time);
        var path = _dir.Combine("a.tar");
        var stamp = new FileStamp(10, May1);
        cache.Record(path, stamp, []);
        cache.MarkForReimport(path);

        cache.Forget(path);
        cache.MarkForReimport(_dir.Combine("never.tar"));
        cache.Record(path, stamp, []);

        Assert.That(cache.TryGetCurrent(path, stamp, out _), Is.True);
        Assert.That(cache.Count, Is.EqualTo(1), "marking a path without an entry adds nothing");
    }

    [Test]
    public void TryGetCurrent_K3sEntryOrOtherStamp_False()
    {
        var path = _dir.Combine("a.tar");
        var cachePath = ImportCache.DefaultPath(_dir.Path);
        File.WriteAllText(cachePath, JsonSerializer.Serialize(new Dictionary<string, Dictionary<string, object>> { [path] = new() { ["size"] = 10, ["modTime"] = "2024-05-01T10:00:00Z" } }));
        var cache = ImportCache.Load(cachePath, _time);

        Assert.That(cache.TryGetCurrent(path, new FileStamp(10, May1), out _), Is.False, "a k3s entry names no images");
        cache.Record(path, new FileStamp(10, May1), []);
        Assert.That(cache.TryGetCurrent(path, new FileStamp(11, May1), out _), Is.False);
        Assert.That(cache.TryGetCurrent(path, new FileStamp(10, May1), out _), Is.True);
    }

    [Test]
    public void Save_ThenLoad_RoundTrips()
    {
        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        var stamp = new FileStamp(123_456, May1 + 123_456_789);
        cache.Record(_dir.Combine("a.tar"), stamp, ["docker.io/library/a:1", "docker.io/library/a@sha256:00"]);
        cache.Save();

        var loaded = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        Assert.That(loaded.LoadedCorrupt, Is.False);
        var entry = loaded.Entries[_dir.Combine("a.tar")];
        Assert.That(entry.Stamp, Is.EqualTo(stamp));
        Assert.That(entry.Images, Is.EqualTo(new[] { "docker.io/library/a:1", "docker.io/library/a@sha256:00" }));
        Assert.That(entry.ImportedAt, Is.EqualTo(_time.GetUtcNow()));
        Assert.That(loaded.IsUnchanged(_dir.Combine("a.tar"), stamp), Is.True);
    }

    [Test]
    public void Load_K3sFormat_ReadsSizeAndModTime()
    {
        File.WriteAllText(ImportCache.DefaultPath(_dir.Path), """
            {"/var/lib/rancher/k3s/agent/images/a.tar":{"size":4096,"modTime":"2024-05-01T10:00:00Z"},
             "/var/lib/rancher/k3s/agent/images/b.tar.zst":{"size":7,"modTime":"2024-05-01T12:00:00.5+02:00"},
             "/var/lib/rancher/k3s/agent/images/zero.tar":{"size":1,"modTime":null}}
            """);

        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);

        Assert.That(cache.LoadedCorrupt, Is.False);
        Assert.That(cache.IsUnchanged("/var/lib/rancher/k3s/agent/images/a.tar", new FileStamp(4096, May1)), Is.True);
        Assert.That(cache.IsUnchanged("/var/lib/rancher/k3s/agent/images/b.tar.zst", new FileStamp(7, May1 + 500_000_000)), Is.True);
        Assert.That(cache.Entries, Has.Count.EqualTo(2), "a null (zero) modTime can never match a file");
        Assert.That(cache.Entries["/var/lib/rancher/k3s/agent/images/a.tar"].Images, Is.Empty);
    }

    [Test]
    public void Save_Superset_StillHasK3sShape()
    {
        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        cache.Record(_dir.Combine("a.tar"), new FileStamp(10, May1 + 1), ["x:1"]);
        cache.Record(_dir.Combine("b.tar"), new FileStamp(20, May1), []);
        cache.Save();

        using var json = JsonDocument.Parse(File.ReadAllBytes(cache.FilePath!));
        foreach (var entry in json.RootElement.EnumerateObject())
        {
            Assert.That(Path.IsPathFullyQualified(entry.Name), Is.True);
            Assert.That(entry.Value.GetProperty("size").ValueKind, Is.EqualTo(JsonValueKind.Number));
            Assert.That(entry.Value.GetProperty("modTime").GetString(), Does.Match(GoRfc3339()));
            Assert.That(entry.Value.GetProperty("importedAt").GetString(), Does.Match(GoRfc3339()));
        }

        var a = json.RootElement.GetProperty(_dir.Combine("a.tar"));
        Assert.That(a.GetProperty("modTime").GetString(), Is.EqualTo("2024-05-01T10:00:00.000000001Z"));
        Assert.That(a.GetProperty("images")[0].GetString(), Is.EqualTo("x:1"));
        Assert.That(json.RootElement.GetProperty(_dir.Combine("b.tar")).GetProperty("modTime").GetString(), Is.EqualTo("2024-05-01T10:00:00Z"));
    }

    [Test]
    public void IsUnchanged_MtimesOneNanosecondApart_Differ()
    {
        var path = _dir.Combine("a.tar");
        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        cache.Record(path, new FileStamp(10, May1 + 100), []);
        cache.Save();
        var loaded = ImportCache.Load(cache.FilePath!, _time);

        foreach (var c in new[] { cache, loaded })
        {
            Assert.That(c.IsUnchanged(path, new FileStamp(10, May1 + 100)), Is.True);
            Assert.That(c.IsUnchanged(path, new FileStamp(10, May1 + 101)), Is.False);
            Assert.That(c.IsUnchanged(path, new FileStamp(10, May1 + 99)), Is.False);
            Assert.That(c.IsUnchanged(path, new FileStamp(11, May1 + 100)), Is.False);
            Assert.That(c.IsUnchanged(_dir.Combine("other.tar"), new FileStamp(10, May1 + 100)), Is.False);
        }
    }

    [Test]
    public void Save_Atomic_LeavesNoTempFile()
    {
        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        for (var i = 0; i < 3; i++)
        {
            cache.Record(_dir.Combine($"{i}.tar"), new FileStamp(i, May1), []);
            cache.Save();
        }

        Assert.That(Directory.GetFileSystemEntries(_dir.Path).Select(Path.GetFileName), Is.EqualTo(new[] { ".cache.json" }));
        Assert.That(ImportCache.Load(cache.FilePath!, _time).Entries, Has.Count.EqualTo(3));
    }

    [TestCase("{not json")]
    [TestCase("[1,2]")]
    [TestCase("{\"/a.tar\": 5}")]
    [TestCase("{\"/a.tar\": {\"size\": 1, \"modTime\": \"yesterday\"}}")]
    public void Load_CorruptFile_StartsEmptyWithFlag(string content)
    {
        File.WriteAllText(ImportCache.DefaultPath(_dir.Path), content);

        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);

        Assert.That(cache.LoadedCorrupt, Is.True);
        Assert.That(cache.LoadError, Is.Not.Empty);
        Assert.That(cache.Entries, Is.Empty);
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase(" \n")]
    public void Load_MissingOrEmptyFile_EmptyWithoutFlag(string? content)
    {
        if (content is not null)
        {
            File.WriteAllText(ImportCache.DefaultPath(_dir.Path), content);
        }

        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);

        Assert.That(cache.LoadedCorrupt, Is.False);
        Assert.That(cache.Entries, Is.Empty);
    }

    [Test]
    public void PruneMissing_GoneFiles_Removed()
    {
        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        File.WriteAllText(_dir.Combine("kept.tar"), "x");
        cache.Record(_dir.Combine("kept.tar"), new FileStamp(1, May1), []);
        cache.Record(_dir.Combine("gone.tar"), new FileStamp(1, May1), []);

        var removed = cache.PruneMissing(File.Exists);

        Assert.That(removed, Is.EqualTo(new[] { _dir.Combine("gone.tar") }));
        Assert.That(cache.Entries.Keys, Is.EqualTo(new[] { _dir.Combine("kept.tar") }));
    }

    [Test]
    public void Forget_RecordedPath_Removed()
    {
        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        cache.Record(_dir.Combine("a.tar"), new FileStamp(1, May1), []);

        Assert.That(cache.Forget(_dir.Combine("a.tar")), Is.True);
        Assert.That(cache.Forget(_dir.Combine("a.tar")), Is.False);
        Assert.That(cache.Entries, Is.Empty);
    }

    [Test]
    public void Save_DirectoryUnwritable_ThrowsImportCacheWriteException()
    {
        // Running as root defeats a read-only mode bit, so the unwritable place is a directory that is a file.
        File.WriteAllText(_dir.Combine("not-a-dir"), "x");
        var cache = ImportCache.Load(_dir.Combine("not-a-dir", ".cache.json"), _time);
        cache.Record(_dir.Combine("a.tar"), new FileStamp(1, May1), []);

        var thrown = Assert.Throws<ImportCacheWriteException>(cache.Save);
        Assert.That(thrown!.CachePath, Is.EqualTo(_dir.Combine("not-a-dir", ".cache.json")));
        Assert.That(cache.Entries, Has.Count.EqualTo(1), "the cache itself goes on");
    }

    [Test]
    public void Save_OverExistingK3sFile_ReplacesIt()
    {
        File.WriteAllText(ImportCache.DefaultPath(_dir.Path), """{"/x/a.tar":{"size":1,"modTime":"2024-05-01T10:00:00Z"}}""");
        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        cache.Record("/x/b.tar", new FileStamp(2, May1), ["b:1"]);
        cache.Save();

        var loaded = ImportCache.Load(cache.FilePath!, _time);
        Assert.That(loaded.Entries.Keys, Is.EquivalentTo(new[] { "/x/a.tar", "/x/b.tar" }));
    }

    [Test]
    public void Load_K3sCompactWholeSeconds_MatchesAnyMtimeWithinThatSecond()
    {
        // What k3s writes: compact JSON, modTime in whole seconds (RFC 3339 without a fraction), no images.
        File.WriteAllText(ImportCache.DefaultPath(_dir.Path), """{"/k/a.tar":{"size":4096,"modTime":"2024-05-01T10:00:00Z"}}""");

        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);

        Assert.That(cache.IsUnchanged("/k/a.tar", new FileStamp(4096, May1 + 734_120_001)), Is.True, "cp leaves a sub-second mtime");
        Assert.That(cache.IsUnchanged("/k/a.tar", new FileStamp(4096, May1 + 999_999_999)), Is.True);
        Assert.That(cache.IsUnchanged("/k/a.tar", new FileStamp(4096, May1 + 1_000_000_000)), Is.False, "the next second");
        Assert.That(cache.IsUnchanged("/k/a.tar", new FileStamp(4096, May1 - 1)), Is.False);
        Assert.That(cache.IsUnchanged("/k/a.tar", new FileStamp(4097, May1 + 1)), Is.False);
        Assert.That(cache.Entries["/k/a.tar"].FromK3s, Is.True);
    }

    [Test]
    public void IsUnchanged_OwnEntryInWholeSeconds_StaysExact()
    {
        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        cache.Record("/x/a.tar", new FileStamp(10, May1), ["a:1"]);
        cache.Save();
        var loaded = ImportCache.Load(cache.FilePath!, _time);

        Assert.That(loaded.Entries["/x/a.tar"].FromK3s, Is.False);
        Assert.That(loaded.IsUnchanged("/x/a.tar", new FileStamp(10, May1 + 1)), Is.False);
    }

    [Test]
    public void Save_K3sEntryNotYetLearnt_WrittenWithoutImages()
    {
        File.WriteAllText(ImportCache.DefaultPath(_dir.Path), """{"/k/a.tar":{"size":1,"modTime":"2024-05-01T10:00:00Z"}}""");
        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        cache.Record("/k/b.tar", new FileStamp(2, May1), ["b:1"]);
        cache.Save();

        var loaded = ImportCache.Load(cache.FilePath!, _time);

        Assert.That(loaded.Entries["/k/a.tar"].FromK3s, Is.True, "still to be learnt after a restart");
        Assert.That(loaded.Entries["/k/b.tar"].FromK3s, Is.False);
    }

    [Test]
    public void SuppliersOf_TracksRecordAndForget()
    {
        var cache = ImportCache.InMemory(_time);
        cache.Record("/x/a.tar", new FileStamp(1, May1), ["app:1", "base:1"]);
        cache.Record("/x/b.tar", new FileStamp(1, May1), ["base:1"]);
        var previous = cache.Record("/x/a.tar", new FileStamp(2, May1), ["app:2"]);

        Assert.That(previous!.Images, Is.EqualTo(new[] { "app:1", "base:1" }));
        Assert.That(cache.SuppliersOf("app:1"), Is.Empty);
        Assert.That(cache.SuppliersOf("base:1"), Is.EqualTo(new[] { "/x/b.tar" }));
        Assert.That(cache.ForgetAll(["/x/b.tar", "/x/missing.tar"]), Is.EqualTo(1));
        Assert.That(cache.SuppliersOf("base:1"), Is.Empty);
        Assert.That(cache.SuppliersOf("app:2"), Is.EqualTo(new[] { "/x/a.tar" }));
    }

    [TestCase("/dev/zero")]
    [TestCase("/proc/kmsg")]
    [TestCase("/dev/null")]
    public void Load_SymlinkToDevice_RefusedWithoutReading(string target)
    {
        File.CreateSymbolicLink(ImportCache.DefaultPath(_dir.Path), target);

        var cache = Task.Run(() => ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time)).WaitAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();

        Assert.That(cache.LoadedCorrupt, Is.True);
        Assert.That(cache.LoadError, Does.Contain("symbolic link"));
        Assert.That(cache.Entries, Is.Empty);
    }

    [Test]
    public void Load_SymlinkToValidCacheOutsideTheDirectory_NotFollowed()
    {
        using var elsewhere = new TempDirectory("iid-cache-elsewhere-");
        File.WriteAllText(elsewhere.Combine("secret.json"), """{"/x/a.tar":{"size":1,"modTime":"2024-05-01T10:00:00Z"}}""");
        File.CreateSymbolicLink(ImportCache.DefaultPath(_dir.Path), elsewhere.Combine("secret.json"));

        var cache = ImportCache.Load(ImportCache.DefaultPath(_dir.Path), _time);
        cache.Record("/x/b.tar", new FileStamp(1, May1), []);
        cache.Save();

        Assert.That(cache.LoadError, Does.Contain("symbolic link"));
        Assert.That(File.ReadAllText(elsewhere.Combine("secret.json")), Does.Contain("/x/a.tar").And.Not.Contain("/x/b.tar"), "the save replaces the link, never writes through it");
        Assert.That(new FileInfo(ImportCache.DefaultPath(_dir.Path)).LinkTarget, Is.Null);
    }

    [Test]
    public async Task Load_Fifo_RefusedWithoutBlocking()
    {
        var path = ImportCache.DefaultPath(_dir.Path);
        await Tools.RunAsync("mkfifo", [path], CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        var cache = await Task.Run(() => ImportCache.Load(path, _time)).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.That(cache.LoadError, Does.Contain("not a regular file"));
        Assert.That(cache.Entries, Is.Empty);
    }

    [Test]
    public void Load_OverSizeCap_RefusedWithoutReading()
    {
        var path = ImportCache.DefaultPath(_dir.Path);
        using (var stream = File.Create(path))
        {
            // Sparse: the size is what counts, not the blocks.
            stream.SetLength(ImportCache.MaxFileBytes + 1);
        }

        var cache = ImportCache.Load(path, _time);

        Assert.That(cache.LoadError, Does.Contain("MiB limit"));
        Assert.That(cache.Entries, Is.Empty);
    }

    [Test]
    public void Load_ManyEntries_AllRead()
    {
        var path = ImportCache.DefaultPath(_dir.Path);
        var cache = ImportCache.Load(path, _time);
        for (var i = 0; i < 20_000; i++)
        {
            cache.Record($"/x/{i}.tar", new FileStamp(i, May1 + i), [$"img:{i}"]);
        }

        cache.Save();
        var loaded = ImportCache.Load(path, _time);

        Assert.That(loaded.Count, Is.EqualTo(20_000));
        Assert.That(loaded.IsUnchanged("/x/19999.tar", new FileStamp(19_999, May1 + 19_999)), Is.True);
        Assert.That(loaded.SuppliersOf("img:7"), Is.EqualTo(new[] { "/x/7.tar" }));
    }

    // Go's time.RFC3339Nano output: UTC, 1-9 fraction digits without trailing zeros; k3s parses it with RFC3339.
    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{0,8}[1-9])?Z$")]
    private static partial Regex GoRfc3339();
}
