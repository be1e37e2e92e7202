using System.Formats.Tar;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>The fakes keep the core's interface contracts; the rest of the suite relies on them doing so.</summary>
[TestFixture]
public sealed class FakesContractTests
{
    [Test]
    public async Task ContentStore_CommitChecks_InvisibleUntilCommitVerifiedAndAbortedOnDispose()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var data = new byte[] { 1, 2, 3 };
        var digest = Digest.FromBytes(data);

        // Act
        var wrongDigest = await store.OpenWriterAsync("r1", 3, null, CancellationToken.None).WithTimeout();
        await wrongDigest!.WriteAsync(data, CancellationToken.None).WithTimeout();
        var visibleBeforeCommit = await store.InfoAsync(digest, CancellationToken.None).WithTimeout();
        var digestError = await AsyncAssert.ThrowsAsync<BackendException>(() => wrongDigest.CommitAsync(3, Digest.FromString("other"), null, CancellationToken.None).AsTask());
        var sizeError = await AsyncAssert.ThrowsAsync<BackendException>(() => wrongDigest.CommitAsync(4, digest, null, CancellationToken.None).AsTask());
        await wrongDigest.DisposeAsync();
        var good = await store.OpenWriterAsync("r2", 3, digest, CancellationToken.None).WithTimeout();
        await good!.WriteAsync(data, CancellationToken.None).WithTimeout();
        await good.CommitAsync(3, digest, new Dictionary<string, string> { ["a"] = "1" }, CancellationToken.None).WithTimeout();
        var again = await store.OpenWriterAsync("r3", 3, digest, CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(visibleBeforeCommit, Is.Null);
            Assert.That(digestError.Kind, Is.EqualTo(FailureKind.FailedPrecondition));
            Assert.That(sizeError.Kind, Is.EqualTo(FailureKind.FailedPrecondition));
            Assert.That(store.AbortedIngests, Is.EqualTo(new[] { "r1" }));
            Assert.That(store.LabelsOf(digest), Is.EquivalentTo(new Dictionary<string, string> { ["a"] = "1" }));
            Assert.That(again, Is.Null, "an expected digest the store has opens no writer");
            Assert.That(store.ActiveIngests, Is.Empty);
        }
    }

    [Test]
    public async Task ContentStore_CommitOfExistingContent_CountsAsCommitted()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var data = new byte[] { 9 };
        var digest = store.Put(data);
        var writer = await store.OpenWriterAsync("r", 1, null, CancellationToken.None).WithTimeout();

        // Act
        await writer!.WriteAsync(data, CancellationToken.None).WithTimeout();
        await writer.CommitAsync(1, digest, null, CancellationToken.None).WithTimeout();

        // Assert
        Assert.That((store.BlobsCommitted, store.ActiveIngests.Count, store.Contains(digest)), Is.EqualTo((0, 0, true)));
    }

    [Test]
    public async Task ContentStore_WriterOpenedAhead_DeclaredBeforeWritingAndEndedWhenPresent()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var present = store.Put([1, 2, 3]);
        byte[] data = [4, 5, 6, 7];
        var notAhead = await store.OpenWriterAsync("plain", data.Length, null, CancellationToken.None);
        var undeclared = await store.OpenWriterAheadAsync("ahead-0", CancellationToken.None);
        var fresh = await store.OpenWriterAheadAsync("ahead-1", CancellationToken.None);
        var existing = await store.OpenWriterAheadAsync("ahead-2", CancellationToken.None);

        // Act
        var notAheadError = await AsyncAssert.ThrowsAsync<BackendException>(() => notAhead!.ExpectAsync(data.Length, Digest.FromBytes(data), CancellationToken.None).AsTask());
        var undeclaredError = await AsyncAssert.ThrowsAsync<BackendException>(() => undeclared.WriteAsync(data, CancellationToken.None).AsTask());
        var freshDeclared = await fresh.ExpectAsync(data.Length, Digest.FromBytes(data), CancellationToken.None);
        await fresh.WriteAsync(data, CancellationToken.None);
        await fresh.CommitAsync(data.Length, Digest.FromBytes(data), null, CancellationToken.None);
        var existingDeclared = await existing.ExpectAsync(3, present, CancellationToken.None);
        var ingestsAfterExisting = store.ActiveIngests;
        await existing.DisposeAsync();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(notAheadError.Kind, Is.EqualTo(FailureKind.FailedPrecondition));
            Assert.That(undeclaredError.Kind, Is.EqualTo(FailureKind.FailedPrecondition));
            Assert.That((freshDeclared, store.Contains(Digest.FromBytes(data))), Is.EqualTo((true, true)));
            Assert.That(existingDeclared, Is.False);
            Assert.That(ingestsAfterExisting, Is.EquivalentTo(new[] { "plain", "ahead-0" }), "a present digest ends the ingest, as containerd aborts it");
            Assert.That(store.AbortedIngests, Is.Empty);
        }
    }

    [Test]
    public async Task ContentStore_LabelsAndFilters_UpdateOnlyGivenKeysAndListByLabel()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var a = store.Put([1], new Dictionary<string, string> { ["containerd.io/uncompressed"] = "sha256:x", ["keep"] = "k" });
        var b = store.Put([2], new Dictionary<string, string> { ["containerd.io/uncompressed"] = "sha256:y" });
        store.Put([3]);

        // Act
        await store.UpdateLabelsAsync(a, new Dictionary<string, string> { ["new"] = "n", ["keep"] = "" }, CancellationToken.None).WithTimeout();
        var quoted = await store.ListAsync(["labels.\"containerd.io/uncompressed\"==sha256:x", "labels.\"containerd.io/uncompressed\"==sha256:y"], CancellationToken.None).ToListWithTimeout();
        var presence = await store.ListAsync(["labels.new"], CancellationToken.None).ToListWithTimeout();
        var missing = await AsyncAssert.ThrowsAsync<BackendException>(() => store.UpdateLabelsAsync(Digest.FromString("absent"), new Dictionary<string, string>(), CancellationToken.None).AsTask());
        var invalid = await AsyncAssert.ThrowsAsync<BackendException>(() => store.ListAsync(["labels.\"unterminated==x"], CancellationToken.None).ToListWithTimeout());

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.LabelsOf(a), Is.EquivalentTo(new Dictionary<string, string> { ["containerd.io/uncompressed"] = "sha256:x", ["new"] = "n" }));
            Assert.That(quoted.Select(i => i.Digest), Is.EqualTo(new[] { a, b }.Order()));
            Assert.That(presence.Select(i => i.Digest), Is.EqualTo(new[] { a }));
            Assert.That(missing.Kind, Is.EqualTo(FailureKind.NotFound));
            Assert.That(invalid.Kind, Is.EqualTo(FailureKind.InvalidArgument));
        }
    }

    [Test]
    public async Task ImageStore_CreateUpdate_ContainerdErrorKindsAndFieldPaths()
    {
        // Arrange
        var store = new InMemoryImageStore();
        var one = new Descriptor(MediaTypes.OciManifest, Digest.FromString("1"), 1);
        var two = new Descriptor(MediaTypes.OciManifest, Digest.FromString("2"), 2);
        await store.CreateAsync(new ImageRecord("a", one, new Dictionary<string, string> { ["x"] = "1", ["y"] = "1" }), CancellationToken.None).WithTimeout();

        // Act
        var exists = await AsyncAssert.ThrowsAsync<BackendException>(() => store.CreateAsync(new ImageRecord("a", one, new Dictionary<string, string>()), CancellationToken.None).AsTask());
        var notFound = await AsyncAssert.ThrowsAsync<BackendException>(() => store.UpdateAsync(new ImageRecord("b", one, new Dictionary<string, string>()), ["target"], CancellationToken.None).AsTask());
        await store.UpdateAsync(new ImageRecord("a", two, new Dictionary<string, string> { ["y"] = "2", ["z"] = "2" }), ["labels.y"], CancellationToken.None).WithTimeout();
        var afterLabel = await store.GetAsync("a", CancellationToken.None).WithTimeout();
        await store.UpdateAsync(new ImageRecord("a", two, new Dictionary<string, string>()), ["target"], CancellationToken.None).WithTimeout();
        var afterTarget = await store.GetAsync("a", CancellationToken.None).WithTimeout();
        var badField = await AsyncAssert.ThrowsAsync<BackendException>(() => store.UpdateAsync(new ImageRecord("a", two, new Dictionary<string, string>()), ["name"], CancellationToken.None).AsTask());
        var listed = await store.ListAsync(["labels.y==2"], CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(exists.Kind, Is.EqualTo(FailureKind.AlreadyExists));
            Assert.That(notFound.Kind, Is.EqualTo(FailureKind.NotFound));
            Assert.That(afterLabel?.Target, Is.EqualTo(one), "labels.y leaves the target alone");
            Assert.That(afterLabel?.Labels, Is.EquivalentTo(new Dictionary<string, string> { ["x"] = "1", ["y"] = "2" }));
            Assert.That(afterTarget?.Target, Is.EqualTo(two));
            Assert.That(afterTarget?.Labels, Has.Count.EqualTo(2), "target leaves the labels alone");
            Assert.That(badField.Kind, Is.EqualTo(FailureKind.InvalidArgument));
            Assert.That(listed.Select(i => i.Name), Is.EqualTo(new[] { "a" }));
            Assert.That((store.Creates, store.Updates), Is.EqualTo((1, 2)));
        }
    }

    [Test]
    public async Task Snapshotter_PrepareCommit_ContainerdErrorKinds()
    {
        // Arrange
        var snapshotter = new InMemorySnapshotter();
        await snapshotter.PrepareAsync("k1", null, CancellationToken.None).WithTimeout();
        await snapshotter.CommitAsync("n1", "k1", CancellationToken.None).WithTimeout();
        await snapshotter.PrepareAsync("k2", "n1", CancellationToken.None).WithTimeout();

        // Act
        var noParent = await AsyncAssert.ThrowsAsync<BackendException>(() => snapshotter.PrepareAsync("k3", "absent", CancellationToken.None).AsTask());
        var duplicateKey = await AsyncAssert.ThrowsAsync<BackendException>(() => snapshotter.PrepareAsync("k2", "n1", CancellationToken.None).AsTask());
        var nameTaken = await AsyncAssert.ThrowsAsync<BackendException>(() => snapshotter.CommitAsync("n1", "k2", CancellationToken.None).AsTask());
        var hasChildren = await AsyncAssert.ThrowsAsync<BackendException>(() => snapshotter.RemoveAsync("n1", CancellationToken.None).AsTask());

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(noParent.Kind, Is.EqualTo(FailureKind.NotFound));
            Assert.That(duplicateKey.Kind, Is.EqualTo(FailureKind.AlreadyExists));
            Assert.That(nameTaken.Kind, Is.EqualTo(FailureKind.AlreadyExists));
            Assert.That(snapshotter.ActiveKeys, Is.EqualTo(new[] { "k2" }), "a failed commit leaves the key active");
            Assert.That(hasChildren.Kind, Is.EqualTo(FailureKind.FailedPrecondition));
        }
    }

    [Test]
    public async Task LeasesAndBackend_DuplicateLeaseRejectedAndStoresNeedALiveLease()
    {
        // Arrange
        var backend = new InMemoryBackend();
        await backend.Leases.CreateAsync("l1", new Dictionary<string, string> { ["k"] = "v" }, CancellationToken.None).WithTimeout();

        // Act
        var duplicate = await AsyncAssert.ThrowsAsync<BackendException>(() => backend.Leases.CreateAsync("l1", new Dictionary<string, string>(), CancellationToken.None).AsTask());
        var listed = await backend.Leases.ListAsync(["labels.k==v"], CancellationToken.None).WithTimeout();
        var store = backend.Content("l1");
        await backend.Leases.DeleteAsync("l1", CancellationToken.None).WithTimeout();
        await backend.Leases.DeleteAsync("l1", CancellationToken.None).WithTimeout();
        var deadLease = Assert.Throws<BackendException>(() => backend.Content("l1"));

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(duplicate.Kind, Is.EqualTo(FailureKind.AlreadyExists));
            Assert.That(listed.Select(l => l.Id), Is.EqualTo(new[] { "l1" }));
            Assert.That(store, Is.SameAs(backend.ContentStore));
            Assert.That(backend.LeaseManager.Deleted, Is.EqualTo(new[] { "l1" }), "deleting a missing lease is success");
            Assert.That(deadLease.Kind, Is.EqualTo(FailureKind.NotFound));
        }
    }

    [Test]
    public async Task DiffApplier_GzipLayer_DiffIdIsDigestOfUncompressedTar()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var layer = ImageBuilder.Layer("x", gzip: true);
        store.Put(layer.Blob);
        var differ = new FakeDiffApplier(store);

        // Act
        var diff = await differ.ApplyAsync(layer.Descriptor, [new Unpack.Mount("bind", "/s", "", [])], CancellationToken.None).WithTimeout();

        // Assert
        Assert.That((diff.Digest, diff.Size, layer.Gzip), Is.EqualTo((layer.DiffId, (long)layer.Tar.Length, true)));
    }

    [Test]
    public void TarBuilder_Entries_ReadBackInOrderWithTypes()
    {
        // Arrange
        using var builder = new TarBuilder()
            .File("b", "2")
            .Directory("d")
            .Symlink("s", "b")
            .HardLink("h", "b")
            .File("b", "again");

        // Act
        using var reader = new TarReader(new MemoryStream(builder.ToArray()));
        var entries = new List<(string, TarEntryType, string)>();
        while (reader.GetNextEntry() is { } entry)
        {
            entries.Add((entry.Name, entry.EntryType, entry.LinkName));
        }

        // Assert
        Assert.That(entries, Is.EqualTo(new[]
        {
            ("b", TarEntryType.RegularFile, ""),
            ("d/", TarEntryType.Directory, ""),
            ("s", TarEntryType.SymbolicLink, "b"),
            ("h", TarEntryType.HardLink, "b"),
            ("b", TarEntryType.RegularFile, ""),
        }));
    }
}
