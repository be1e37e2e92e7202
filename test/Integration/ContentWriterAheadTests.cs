using Imageimportd.Containerd;
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
}
