using Imageimportd.Archive;
using Imageimportd.Content;
using Imageimportd.Images;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>The seam after the archive reader: the feed of what was stored, and layer substitution in front of the store.</summary>
[TestFixture]
public sealed class StoredBlobFeedTests
{
    [Test]
    public async Task Feed_TwoSubscribers_EachReadsEveryBlobInArchiveOrderThenCompletes()
    {
        // Arrange
        var store = new InMemoryContentStore();
        await using var write = new ContentWriteStage(store, "feed", ContentWriteOptions.Default, ArchiveLimits.Default);
        var feed = new StoredBlobFeed(write);
        var first = feed.Subscribe();
        var second = feed.Subscribe();
        var blobs = new[] { "a"u8.ToArray(), "bb"u8.ToArray(), "ccc"u8.ToArray() };

        // Act
        var stored = new List<Digest>();
        for (var i = 0; i < blobs.Length; i++)
        {
            stored.Add((await feed.IngestAsync($"f{i}", blobs[i].Length, null, null, new MemoryStream(blobs[i]), CancellationToken.None)).Digest);
        }

        await feed.CompleteAsync(CancellationToken.None).AsTask().WithTimeout();
        feed.Close();

        // Assert
        Assert.That(await ReadAllAsync(first).WithTimeout(), Is.EqualTo(stored.Select((d, i) => ($"f{i}", d))));
        Assert.That(await ReadAllAsync(second).WithTimeout(), Is.EqualTo(stored.Select((d, i) => ($"f{i}", d))));
    }

    [Test]
    public async Task Substitution_StoreHasASubstitute_LayerOnlyHashedComesBackSubstitutedAndTheSubstituteIsHeld()
    {
        // Arrange: the store holds a gzip blob labelled as the plain layer's compressed form.
        var store = new InMemoryContentStore();
        var leases = new InMemoryLeaseManager();
        await leases.CreateAsync("lease-1", new Dictionary<string, string>(), CancellationToken.None);
        var layer = ImageBuilder.Layer("base");
        var gzip = ImageBuilder.FromTar(layer.Tar, gzip: true);
        var substitute = store.Put(gzip.Blob, new Dictionary<string, string> { [ContentLabels.Uncompressed] = layer.DiffId.Value });
        await using var write = new ContentWriteStage(store, "sub", ContentWriteOptions.Default, ArchiveLimits.Default);
        var sink = new LayerSubstitution(write, store, leases, "lease-1", minBytes: 1024);
        var written = store.BytesWritten;

        // Act
        var blob = await sink.IngestAsync($"{layer.DiffId.Hex}.tar", layer.Blob.Length, null, layer.DiffId, new MemoryStream(layer.Blob), CancellationToken.None);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That((blob.State, blob.Digest), Is.EqualTo((BlobState.Substituted, layer.DiffId)));
            Assert.That(blob.InStore, Is.False);
            Assert.That(store.BytesWritten, Is.EqualTo(written));
            Assert.That(leases.ContentAdded, Does.Contain(("lease-1", substitute)));
        }
    }

    [Test]
    public async Task Substitution_BytesAreNotWhatTheNameHints_ComesBackAsHintMismatchNotAnException()
    {
        // Arrange: the entry is named after "other", whose substitute the store has; the bytes are "base".
        var store = new InMemoryContentStore();
        var other = ImageBuilder.Layer("other");
        var layer = ImageBuilder.Layer("base");
        store.Put(ImageBuilder.FromTar(other.Tar, gzip: true).Blob, new Dictionary<string, string> { [ContentLabels.Uncompressed] = other.DiffId.Value });
        await using var write = new ContentWriteStage(store, "sub", ContentWriteOptions.Default, ArchiveLimits.Default);
        var leases = new InMemoryLeaseManager();
        await leases.CreateAsync("lease-1", new Dictionary<string, string>(), CancellationToken.None);
        var sink = new LayerSubstitution(write, store, leases, "lease-1", minBytes: 1024);

        // Act
        var blob = await sink.IngestAsync($"{other.DiffId.Hex}.tar", layer.Blob.Length, null, other.DiffId, new MemoryStream(layer.Blob), CancellationToken.None);

        // Assert
        Assert.That((blob.State, blob.Digest, store.Contains(layer.DiffId)), Is.EqualTo((BlobState.HintMismatch, layer.DiffId, false)));
    }

    private static async Task<List<(string, Digest)>> ReadAllAsync(System.Threading.Channels.ChannelReader<StoredBlobEvent> reader)
    {
        var seen = new List<(string, Digest)>();
        await foreach (var e in reader.ReadAllAsync())
        {
            seen.Add((e.Path, e.Blob.Digest));
        }

        return seen;
    }
}
