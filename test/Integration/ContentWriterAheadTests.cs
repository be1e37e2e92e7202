using Imageimportd.Archive;
using Imageimportd.Containerd;
using Imageimportd.Content;
using Imageimportd.Oci;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>
/// A Content.Write session opened ahead of its blob (ContentWriteStage keeps one, so the archive reader never waits for
/// containerd's metadata lock at a blob's start), against a real containerd: the session opens with a ref alone, the
/// digest declared later is looked up (present content ends the stream with AlreadyExists and leaves no ingest), a
/// declared blob writes and commits as any other, and a session never used is aborted.
/// </summary>
[TestFixture]
public sealed class ContentWriterAheadTests
{
    [Test]
    public async Task WriterOpenedAhead_DeclaresPresentAndNewBlobs_AsContainerdJudgesThem()
    {
        // Arrange: a lease keeps what the test writes from containerd's collector (other tests share this containerd).
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("ahead");
        using var client = new ContainerdClient(new ContainerdOptions { Address = containerd.Address, Namespace = ns });
        var lease = $"ahead-test-{Guid.NewGuid():N}";
        await client.LeaseManager().CreateAsync(lease, new Dictionary<string, string>(), CancellationToken.None).AsTask().Bounded();
        var store = client.ContentStore(lease);
        byte[] present = [.. "already here"u8];
        byte[] fresh = [.. Enumerable.Range(0, 300_000).Select(i => (byte)(i * 13))];
        var plain = await store.OpenWriterAsync("ahead-plain", present.Length, Digest.FromBytes(present), CancellationToken.None).AsTask().Bounded()
            ?? throw new AssertionException("a new namespace already holds the blob");
        await using (plain)
        {
            await plain.WriteAsync(present, CancellationToken.None).AsTask().Bounded();
            await plain.CommitAsync(present.Length, Digest.FromBytes(present), null, CancellationToken.None).AsTask().Bounded();
        }

        // Act
        var declaredPresent = false;
        await using (var ahead = await store.OpenWriterAheadAsync("ahead-1", CancellationToken.None).AsTask().Bounded())
        {
            declaredPresent = await ahead.ExpectAsync(present.Length, Digest.FromBytes(present), CancellationToken.None).AsTask().Bounded();
        }

        var declaredFresh = false;
        await using (var ahead = await store.OpenWriterAheadAsync("ahead-2", CancellationToken.None).AsTask().Bounded())
        {
            declaredFresh = await ahead.ExpectAsync(fresh.Length, Digest.FromBytes(fresh), CancellationToken.None).AsTask().Bounded();
            await ahead.WriteAsync(fresh.AsMemory(0, 100_000), CancellationToken.None).AsTask().Bounded();
            await ahead.WriteAsync(fresh.AsMemory(100_000), CancellationToken.None).AsTask().Bounded();
            await ahead.CommitAsync(fresh.Length, Digest.FromBytes(fresh), null, CancellationToken.None).AsTask().Bounded();
        }

        var unused = await store.OpenWriterAheadAsync("ahead-3", CancellationToken.None).AsTask().Bounded();
        var activeWhileOpen = await containerd.CtrFor(ns).RunAsync(["content", "active"]).Bounded();
        await unused.DisposeAsync();
        var activeAfter = await containerd.CtrFor(ns).RunAsync(["content", "active"]).Bounded();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(declaredPresent, Is.False, "containerd has the digest: nothing to write");
            Assert.That(declaredFresh, Is.True);
            Assert.That(await containerd.CtrFor(ns).ReadBlobAsync(Digest.FromBytes(fresh).Value).Bounded(), Is.EqualTo(fresh));
            Assert.That(activeWhileOpen, Does.Contain("ahead-3"), "the session exists on containerd's side before any data");
            Assert.That(activeAfter, Does.Not.Contain("ahead-"), "no ingest is left behind: not the present blob's, not the unused one's");
        }

        await client.LeaseManager().DeleteAsync(lease, CancellationToken.None).AsTask().Bounded();
    }

    [Test]
    public async Task ContentWriteStage_BlobLeftByAnEndedImport_HeldByTheNewImportsLease()
    {
        // Arrange: a blob written under a lease that then ends with nothing naming it (a failed import's leftover) is
        // present, but only until containerd's next collection. An import that finds it present must hold it.
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("ahead-lease");
        using var client = new ContainerdClient(new ContainerdOptions { Address = containerd.Address, Namespace = ns });
        var leases = client.LeaseManager();
        var (earlier, current) = ($"ahead-earlier-{Guid.NewGuid():N}", $"ahead-current-{Guid.NewGuid():N}");
        await leases.CreateAsync(earlier, new Dictionary<string, string>(), CancellationToken.None).AsTask().Bounded();
        await leases.CreateAsync(current, new Dictionary<string, string>(), CancellationToken.None).AsTask().Bounded();
        byte[] leftover = [.. Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7))];
        byte[] first = [.. Enumerable.Range(0, 50_000).Select(i => (byte)(i * 11))];
        var earlierWriter = await client.ContentStore(earlier).OpenWriterAsync("ahead-leftover", leftover.Length, Digest.FromBytes(leftover), CancellationToken.None).AsTask().Bounded()
            ?? throw new AssertionException("a new namespace already holds the blob");
        await using (earlierWriter)
        {
            await earlierWriter.WriteAsync(leftover, CancellationToken.None).AsTask().Bounded();
            await earlierWriter.CommitAsync(leftover.Length, Digest.FromBytes(leftover), null, CancellationToken.None).AsTask().Bounded();
        }

        // Act: the first blob leaves a session opened ahead, on which the leftover's digest is then declared.
        var stage = new ContentWriteStage(client.ContentStore(current), "ahead-import", ContentWriteOptions.Default, ArchiveLimits.Default);
        await using (stage)
        {
            await stage.IngestAsync("first.tar", first.Length, null, Digest.FromBytes(first), new MemoryStream(first), CancellationToken.None).AsTask().Bounded();
            await stage.IngestAsync("leftover.tar", leftover.Length, null, Digest.FromBytes(leftover), new MemoryStream(leftover), CancellationToken.None).AsTask().Bounded();
            await stage.CompleteAsync(CancellationToken.None).AsTask().Bounded();
        }

        await containerd.CtrFor(ns).RunAsync(["leases", "delete", "--sync", earlier]).Bounded();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(stage.BlobsSkipped, Is.EqualTo(1), "the leftover was found present, not sent again");
            Assert.That(await containerd.CtrFor(ns).ReadBlobAsync(Digest.FromBytes(leftover).Value).Bounded(), Is.EqualTo(leftover), "collected: the import's lease did not hold it");
        }

        await leases.DeleteAsync(current, CancellationToken.None).AsTask().Bounded();
    }
}
