using System.Text;
using Imageimportd.Archive;
using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class ContentWriteStageTests
{
    private static ContentWriteStage NewIngest(InMemoryContentStore store, int chunkBytes = 1 << 20, ArchiveLimits? limits = null) =>
        new(store, "import-1", new ContentWriteOptions { ChunkBytes = chunkBytes }, limits ?? ArchiveLimits.Default);

    private static byte[] Pattern(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)((i * 31) + 7))];

    [Test]
    public async Task IngestAsync_SmallChunkSize_WritesChunkSizedPiecesAndCommitsExactBytes()
    {
        // Arrange: asynchronous writes make the double-buffered pipeline overlap reads with writes.
        var store = new InMemoryContentStore { AsynchronousWrites = true };
        var data = Pattern(50);
        await using var ingest = NewIngest(store, chunkBytes: 7);

        // Act
        var blob = await ingest.IngestAsync("x/layer.tar", data.Length, null, new MemoryStream(data), CancellationToken.None).WithTimeout();
        await ingest.CompleteAsync(CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.WriteSizes, Is.EqualTo(new[] { 7, 7, 7, 7, 7, 7, 7, 1 }));
            Assert.That(store.Get(Digest.FromBytes(data)), Is.EqualTo(data));
            Assert.That(blob.Digest, Is.EqualTo(Digest.FromBytes(data)));
            Assert.That(blob.Size, Is.EqualTo(50));
            Assert.That(blob.Header.ToArray(), Is.EqualTo(data[..blob.Header.Length]).And.Not.Empty, "the header is the blob's first bytes");
            Assert.That(ingest.BytesSent, Is.EqualTo(50));
            Assert.That(store.ActiveIngests, Is.Empty);
        }
    }

    [Test]
    public async Task IngestAsync_ManyBlobsPipelined_EachCommittedIntact()
    {
        // Arrange
        var store = new InMemoryContentStore { AsynchronousWrites = true };
        var blobs = Enumerable.Range(1, 12).Select(i => Pattern(i * 97)).ToList();
        await using var ingest = NewIngest(store, chunkBytes: 64);

        // Act
        foreach (var data in blobs)
        {
            await ingest.IngestAsync($"b{data.Length}", data.Length, null, new MemoryStream(data), CancellationToken.None).WithTimeout();
        }

        await ingest.CompleteAsync(CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.BlobsCommitted, Is.EqualTo(12));
            Assert.That(blobs.All(b => store.Get(Digest.FromBytes(b)).SequenceEqual(b)), Is.True);
        }
    }

    [Test]
    public async Task IngestAsync_ClaimedDigestAlreadyStored_SendsNothingAndReturnsDescriptor()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var data = Pattern(5000);
        var digest = store.Put(data);
        var limits = new ArchiveLimits { MaxCapturedJsonBytes = 1024 };
        await using var ingest = NewIngest(store, limits: limits);
        using var stream = new MemoryStream(data);

        // Act
        var blob = await ingest.IngestAsync(OciLayoutBuilder.BlobPath(digest), data.Length, digest, stream, CancellationToken.None).WithTimeout();
        await ingest.CompleteAsync(CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That((blob.Digest, blob.Size), Is.EqualTo((digest, 5000L)));
            Assert.That(store.BytesWritten, Is.Zero);
            Assert.That(store.WritersOpened, Is.Zero);
            Assert.That(ingest.BytesSent, Is.Zero);
            Assert.That(ingest.BlobsSkipped, Is.EqualTo(1));
            Assert.That(stream.Position, Is.Zero, "a large blob the store has is not even read");
        }
    }

    [Test]
    public async Task IngestAsync_ClaimedSmallJsonStoredButBytesDiffer_Throws()
    {
        // Arrange: the store holds the digest; the archive's bytes under that name are something else.
        var store = new InMemoryContentStore();
        var digest = store.Put(Encoding.UTF8.GetBytes("{\"a\":1}"));
        var lie = Encoding.UTF8.GetBytes("{\"a\":2}");
        await using var ingest = NewIngest(store);

        // Act
        var ex = await AsyncAssert.ThrowsAsync<InvalidDataException>(() =>
            ingest.IngestAsync("blobs/sha256/" + digest.Hex, lie.Length, digest, new MemoryStream(lie), CancellationToken.None).AsTask());

        // Assert
        Assert.That(ex.Message, Does.Contain("does not match its name"));
    }

    [TestCase("{\"k\":\"v\"}", 1024, true, TestName = "IngestAsync_SmallJsonObject_Captured")]
    [TestCase("[\"not an object\"]", 1024, false, TestName = "IngestAsync_JsonArray_NotCaptured")]
    [TestCase("\u001f\u008b\u0008gzip", 1024, false, TestName = "IngestAsync_BinaryBlob_NotCaptured")]
    [TestCase("{\"k\":\"a value longer than the limit\"}", 16, false, TestName = "IngestAsync_JsonOverCaptureLimit_NotCaptured")]
    public async Task IngestAsync_Blob_JsonCapturedOnlyWhenSmallObject(string text, int maxCaptured, bool captured)
    {
        // Arrange
        var store = new InMemoryContentStore();
        var data = Encoding.Latin1.GetBytes(text);
        await using var ingest = NewIngest(store, chunkBytes: 5, limits: new ArchiveLimits { MaxCapturedJsonBytes = maxCaptured });

        // Act
        var blob = await ingest.IngestAsync("blob", data.Length, null, new MemoryStream(data), CancellationToken.None).WithTimeout();

        // Assert
        Assert.That(blob.Json, captured ? Is.EqualTo(data) : Is.Null);
    }

    [Test]
    public async Task IngestAsync_CapturedJsonOverTotalBudget_LaterBlobsNotCaptured()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var first = Encoding.UTF8.GetBytes("{\"n\":1,\"pad\":\"xxxxxxxx\"}");
        var second = Encoding.UTF8.GetBytes("{\"n\":2,\"pad\":\"xxxxxxxx\"}");
        await using var ingest = NewIngest(store, limits: new ArchiveLimits { MaxCapturedJsonTotal = first.Length + 10 });

        // Act
        var a = await ingest.IngestAsync("a", first.Length, null, new MemoryStream(first), CancellationToken.None).WithTimeout();
        var b = await ingest.IngestAsync("b", second.Length, null, new MemoryStream(second), CancellationToken.None).WithTimeout();

        // Assert
        Assert.That((a.Json is not null, b.Json is not null), Is.EqualTo((true, false)));
    }

    [Test]
    public async Task IngestAsync_StreamEndsEarly_ThrowsInvalidDataAndAbortsIngest()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var data = Pattern(100);
        await using var ingest = NewIngest(store, chunkBytes: 16);

        // Act
        var ex = await AsyncAssert.ThrowsAsync<InvalidDataException>(() =>
            ingest.IngestAsync("x/layer.tar", 250, null, new MemoryStream(data), CancellationToken.None).AsTask());

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex.Message, Is.EqualTo("truncated archive: x/layer.tar ends after 100 of 250 bytes"));
            Assert.That(store.ActiveIngests, Is.Empty);
            Assert.That(store.AbortedIngests, Has.Count.EqualTo(1));
            Assert.That(store.Digests, Is.Empty);
        }
    }

    [Test]
    public async Task IngestAsync_ContentDoesNotMatchClaim_ThrowsAndCommitsNothing()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var data = Pattern(40);
        var claimed = Digest.FromString("something else");
        var ingest = NewIngest(store);

        // Act: the importer disposes the stage on its failure path, which also ends the session opened ahead.
        var ex = await AsyncAssert.ThrowsAsync<InvalidDataException>(() =>
            ingest.IngestAsync("blobs/sha256/" + claimed.Hex, data.Length, claimed, new MemoryStream(data), CancellationToken.None).AsTask());
        var ingestsBeforeDispose = store.ActiveIngests;
        await ingest.DisposeAsync();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex.Message, Does.Contain(claimed.Value).And.Contain(Digest.FromBytes(data).Value));
            Assert.That(store.Digests, Is.Empty);
            Assert.That(ingestsBeforeDispose, Has.Count.EqualTo(1), "only the session opened ahead for a next blob");
            Assert.That(store.ActiveIngests, Is.Empty);
        }
    }

    [Test]
    public async Task IngestAsync_DigestsKnown_EachBlobAfterTheFirstUsesAWriterOpenedAhead()
    {
        // Arrange
        var store = new InMemoryContentStore { AsynchronousWrites = true };
        var blobs = Enumerable.Range(1, 3).Select(i => Pattern(i * 1000)).ToList();
        await using var ingest = NewIngest(store, chunkBytes: 512);

        // Act
        foreach (var data in blobs)
        {
            var digest = Digest.FromBytes(data);
            await ingest.IngestAsync($"{digest.Hex}.tar", data.Length, null, digest, new MemoryStream(data), CancellationToken.None).WithTimeout();
        }

        await ingest.CompleteAsync(CancellationToken.None).WithTimeout();

        // Assert: the first blob opens its writer on the spot; each one opens the next blob's writer ahead, and the
        // last such writer, which no blob needed, is aborted at the end.
        using (Assert.EnterMultipleScope())
        {
            Assert.That(blobs.All(b => store.Get(Digest.FromBytes(b)).SequenceEqual(b)), Is.True);
            Assert.That((store.WritersOpened, store.WritersOpenedAhead), Is.EqualTo((1, 3)));
            Assert.That(store.AbortedIngests, Has.Count.EqualTo(1));
            Assert.That(store.ActiveIngests, Is.Empty);
        }
    }

    [Test]
    public async Task IngestAsync_StoredDigestDeclaredOnWriterOpenedAhead_SendsNothing()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var first = Pattern(3000);
        var stored = Pattern(5000).Reverse().ToArray();
        var digest = store.Put(stored);
        await using var ingest = NewIngest(store, limits: new ArchiveLimits { MaxCapturedJsonBytes = 1024 });
        await ingest.IngestAsync("first.tar", first.Length, null, Digest.FromBytes(first), new MemoryStream(first), CancellationToken.None).WithTimeout();

        // Act
        var blob = await ingest.IngestAsync(OciLayoutBuilder.BlobPath(digest), stored.Length, digest, new MemoryStream(stored), CancellationToken.None).WithTimeout();
        await ingest.CompleteAsync(CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(blob.Digest, Is.EqualTo(digest));
            Assert.That(store.WritersOpenedAhead, Is.EqualTo(2), "the stored blob was declared on the writer opened ahead");
            Assert.That(store.WritersSkipped, Is.EqualTo(2), "found present ahead, then opened with its digest, which holds it for the import");
            Assert.That(store.BytesWritten, Is.EqualTo(first.Length), "nothing of the stored blob was sent");
            Assert.That(ingest.BlobsSkipped, Is.EqualTo(1));
            Assert.That(store.ActiveIngests, Is.Empty);
        }
    }

    [Test]
    public async Task IngestAsync_OpenAheadOff_OpensEveryWriterOnTheSpot()
    {
        // Arrange
        var store = new InMemoryContentStore();
        await using var ingest = new ContentWriteStage(store, "import-1", new ContentWriteOptions { OpenAhead = false }, ArchiveLimits.Default);

        // Act
        foreach (var data in new[] { Pattern(10), Pattern(20) })
        {
            await ingest.IngestAsync("b.tar", data.Length, null, Digest.FromBytes(data), new MemoryStream(data), CancellationToken.None).WithTimeout();
        }

        await ingest.CompleteAsync(CancellationToken.None).WithTimeout();

        // Assert
        Assert.That((store.WritersOpened, store.WritersOpenedAhead, store.AbortedIngests.Count), Is.EqualTo((2, 0, 0)));
    }

    [Test]
    public async Task DisposeAsync_WithoutComplete_AbortsTheWriterOpenedAhead()
    {
        // Arrange: the failure path (the archive reader threw) disposes the stage without completing it.
        var store = new InMemoryContentStore();
        var data = Pattern(100);
        var ingest = NewIngest(store);
        await ingest.IngestAsync("a.tar", data.Length, null, Digest.FromBytes(data), new MemoryStream(data), CancellationToken.None).WithTimeout();

        // Act
        await ingest.DisposeAsync();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.Contains(Digest.FromBytes(data)), Is.True);
            Assert.That(store.ActiveIngests, Is.Empty);
            Assert.That(store.AbortedIngests, Has.Count.EqualTo(1));
        }
    }

    [Test]
    public async Task CompleteAsync_CommitFailed_SurfacesTheFailure()
    {
        // Arrange
        var data = Pattern(64);
        var store = new InMemoryContentStore
        {
            CommitFault = d => d == Digest.FromBytes(data) ? new BackendException(FailureKind.ResourceExhausted, "no space left on device") : null,
        };
        await using var ingest = NewIngest(store);

        // Act
        var blob = await ingest.IngestAsync("x/layer.tar", data.Length, null, new MemoryStream(data), CancellationToken.None).WithTimeout();
        var ex = await AsyncAssert.ThrowsAsync<BackendException>(() => ingest.CompleteAsync(CancellationToken.None).AsTask());

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(blob.Digest, Is.EqualTo(Digest.FromBytes(data)), "the ingest call itself returns before the commit result");
            Assert.That(ex.Kind, Is.EqualTo(FailureKind.ResourceExhausted));
            Assert.That(store.Contains(blob.Digest), Is.False);
            Assert.That(store.ActiveIngests, Is.Empty, "the failed writer was disposed, aborting its ingest");
        }
    }

    [Test]
    public async Task IngestAsync_AfterAFailedCommit_ThrowsInsteadOfSendingMore()
    {
        // Arrange
        var bad = Pattern(10);
        var store = new InMemoryContentStore { CommitFault = d => d == Digest.FromBytes(bad) ? new BackendException(FailureKind.Unavailable, "gone") : null };
        await using var ingest = NewIngest(store);
        await ingest.IngestAsync("bad", bad.Length, null, new MemoryStream(bad), CancellationToken.None).WithTimeout();
        var before = store.BytesWritten;

        // Act
        var ex = await AsyncAssert.ThrowsAsync<BackendException>(() =>
            ingest.IngestAsync("next", 20, null, new MemoryStream(Pattern(20)), CancellationToken.None).AsTask());

        // Assert
        Assert.That((ex.Kind, store.BytesWritten), Is.EqualTo((FailureKind.Unavailable, before)));
    }

    [Test]
    public async Task IngestAsync_Bytes_CommittedBeforeReturnWithJsonAndHeader()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var json = Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"manifests\":null}");
        await using var ingest = NewIngest(store);

        // Act
        var blob = await ingest.IngestAsync("index", json, CancellationToken.None).WithTimeout();
        var again = await ingest.IngestAsync("index", json, CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.Get(blob.Digest), Is.EqualTo(json));
            Assert.That(blob.Json, Is.EqualTo(json));
            Assert.That(blob.Header.ToArray(), Is.EqualTo(json[..16]));
            Assert.That(again.Digest, Is.EqualTo(blob.Digest));
            Assert.That(store.WritersOpened, Is.EqualTo(1), "the second copy is known by digest and not sent");
            Assert.That(ingest.BlobsSkipped, Is.EqualTo(1));
        }
    }

    [Test]
    public async Task IngestAsync_EmptyBlob_CommittedWithEmptyHeader()
    {
        // Arrange
        var store = new InMemoryContentStore();
        await using var ingest = NewIngest(store);

        // Act
        var blob = await ingest.IngestAsync("empty", 0, null, Stream.Null, CancellationToken.None).WithTimeout();
        await ingest.CompleteAsync(CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(blob.Digest, Is.EqualTo(Digest.FromBytes([])));
            Assert.That(blob.Header.IsEmpty, Is.True);
            Assert.That(store.Contains(blob.Digest), Is.True);
        }
    }
}
