using Imageimportd.Archive;
using Imageimportd.Content;
using Imageimportd.Import;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using Imageimportd.Unpack;
using Imageimportd.Unpack.Direct;
using NUnit.Framework;
using TempDirectory = Imageimportd.Tests.Harness.TempDirectory;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class LayerTeeTests
{
    [Test]
    public async Task IngestAsync_ApplyFails_BlobStillStoredSnapshotRemovedAndTheTeeStops()
    {
        // Arrange: the snapshot's bind mount names a regular file, so every apply fails.
        await using var rig = new Rig((inner, temp) => new BindingSnapshotter(inner, temp.Write("file", "not a directory"u8.ToArray())));
        var (store, snapshotter, tee) = (rig.Store, rig.Snapshotter, rig.Tee);
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("app"));

        // Act
        var blobs = await rig.IngestAllAsync(image);
        await tee.CompleteAsync(CancellationToken.None).AsTask().WithTimeout();

        // Assert: the import is untouched; only the first layer was tried, and its snapshot is gone.
        using (Assert.EnterMultipleScope())
        {
            Assert.That(blobs.Select(b => (b.Digest, b.State)), Is.EqualTo(image.Layers.Select(l => (l.DiffId, BlobState.Stored))));
            Assert.That(image.Layers.Select(l => store.Contains(l.BlobDigest)), Is.All.True);
            Assert.That(tee.Committed, Is.Empty);
            Assert.That(tee.Fault, Is.Not.Null);
            Assert.That(snapshotter.Prepared, Has.Count.EqualTo(1));
            Assert.That(snapshotter.ActiveKeys, Is.Empty);
            Assert.That(snapshotter.CommittedNames, Is.Empty);
        }
    }

    [Test]
    public async Task IngestAsync_ThreeLayers_ReaderRunsAheadOfCommitsAndEachBlobCompletesOnlyOnceItsSnapshotIsCommitted()
    {
        // Arrange: every snapshot is a directory of its own; the first commit is held until the test lets it go.
        await using var rig = new Rig();
        var (snapshotter, tee) = (rig.Snapshotter, rig.Tee);
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("middle"), ImageBuilder.Layer("app"));
        using var holdFirstCommit = new ManualResetEventSlim();
        snapshotter.BeforeCommit = (_, _) => holdFirstCommit.Wait(TimeSpan.FromSeconds(30));

        // Act: all three layers stream while the first commit is held.
        var blobs = await rig.IngestAllAsync(image);
        var heldBack = blobs.Select(b => b.Committed.IsCompleted).ToList();
        holdFirstCommit.Set();
        await Task.WhenAll(blobs.Select(b => b.Committed)).WithTimeout();
        await tee.CompleteAsync(CancellationToken.None).AsTask().WithTimeout();

        // Assert: no blob completed while its snapshot was not committed; three snapshots, each on the one below.
        var chain = new List<Digest>();
        Digest? parent = null;
        foreach (var layer in image.Layers)
        {
            parent = ChainId.Next(parent, layer.DiffId);
            chain.Add(parent.Value);
        }

        using (Assert.EnterMultipleScope())
        {
            Assert.That(heldBack, Has.None.True);
            Assert.That(tee.Fault, Is.Null);
            Assert.That(tee.Committed, Is.EquivalentTo(chain));
            Assert.That(snapshotter.CommittedNames, Is.EquivalentTo(chain.Select(c => c.Value)));
            Assert.That(snapshotter.Prepared.Select(p => p.Parent), Is.EqualTo(new string?[] { null, chain[0].Value, chain[1].Value }));
            Assert.That(snapshotter.ActiveKeys, Is.Empty);
        }
    }

    [Test]
    public async Task IngestAsync_SecondLayerRefused_FirstCommittedSecondRemovedThirdStoredWholeAndLeftToLaterPasses()
    {
        // Arrange: the second layer hard-links to a file no layer has, which the applier refuses.
        await using var rig = new Rig();
        var (store, snapshotter, tee) = (rig.Store, rig.Snapshotter, rig.Tee);
        using var refusedTar = new TarBuilder().HardLink("etc/link", "etc/nowhere");
        var refused = ImageBuilder.FromTar(refusedTar.ToArray(), gzip: false);
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), refused, ImageBuilder.Layer("app"));

        // Act
        var blobs = await rig.IngestAllAsync(image);
        await tee.CompleteAsync(CancellationToken.None).AsTask().WithTimeout();
        await Task.WhenAll(blobs.Select(b => b.Committed)).WithTimeout();

        // Assert: every blob stored as what it is; only the first layer's snapshot stays; the fault names the refusal.
        using (Assert.EnterMultipleScope())
        {
            Assert.That(blobs.Select(b => (b.Digest, b.State)), Is.EqualTo(image.Layers.Select(l => (l.DiffId, BlobState.Stored))));
            Assert.That(image.Layers.Select(l => store.Contains(l.BlobDigest)), Is.All.True);
            Assert.That(tee.Committed, Is.EqualTo(new[] { ChainId.Next(null, image.Layers[0].DiffId) }));
            Assert.That(tee.Fault, Is.InstanceOf<InvalidDataException>());
            Assert.That(snapshotter.CommittedNames, Has.Count.EqualTo(1));
            Assert.That(snapshotter.ActiveKeys, Is.Empty);
        }
    }

    /// <summary>A tee over an in-memory store and snapshotter; each snapshot a directory of its own unless told otherwise.</summary>
    private sealed class Rig : IAsyncDisposable
    {
        private readonly TempDirectory _temp = new();
        private readonly ContentWriteStage _write;

        public Rig(Func<InMemorySnapshotter, TempDirectory, ISnapshotter>? mounts = null)
        {
            var snapshotter = mounts?.Invoke(Snapshotter, _temp) ?? new DirectorySnapshotter(Snapshotter, _temp.Path);
            _write = new ContentWriteStage(Store, "tee", ContentWriteOptions.Default, ArchiveLimits.Default);
            Tee = new LayerTee(_write, new Unpacker(snapshotter, new FakeDiffApplier(Store), Store), UnpackVia.Direct, null);
        }

        public InMemoryContentStore Store { get; } = new();

        public InMemorySnapshotter Snapshotter { get; } = new();

        public LayerTee Tee { get; }

        /// <summary>Every layer through the tee, in order, named as skopeo names them.</summary>
        public async Task<List<StoredBlob>> IngestAllAsync(TestImage image)
        {
            var blobs = new List<StoredBlob>();
            foreach (var layer in image.Layers)
            {
                blobs.Add(await Tee.IngestAsync($"{layer.DiffId.Hex}.tar", layer.Blob.Length, null, layer.DiffId, new MemoryStream(layer.Blob), CancellationToken.None).AsTask().WithTimeout());
            }

            return blobs;
        }

        public async ValueTask DisposeAsync()
        {
            await Tee.DisposeAsync();
            await _write.DisposeAsync();
            _temp.Dispose();
        }
    }

    /// <summary>Gives each prepared snapshot a bind mount of a directory of its own under <paramref name="root"/>.</summary>
    private sealed class DirectorySnapshotter(InMemorySnapshotter inner, string root) : ISnapshotter
    {
        public string Name => inner.Name;

        public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken) => inner.ExistsAsync(key, cancellationToken);

        public async ValueTask<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken cancellationToken)
        {
            await inner.PrepareAsync(key, parent, cancellationToken);
            var dir = Directory.CreateDirectory(Path.Combine(root, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)))[..16])).FullName;
            return [new Mount("bind", dir, "", ["rw", "rbind"])];
        }

        public ValueTask CommitAsync(string name, string key, CancellationToken cancellationToken) => inner.CommitAsync(name, key, cancellationToken);

        public ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => inner.RemoveAsync(key, cancellationToken);
    }

    /// <summary>Gives every prepared snapshot one bind mount of <paramref name="source"/>.</summary>
    private sealed class BindingSnapshotter(InMemorySnapshotter inner, string source) : ISnapshotter
    {
        public string Name => inner.Name;

        public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken) => inner.ExistsAsync(key, cancellationToken);

        public async ValueTask<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken cancellationToken)
        {
            await inner.PrepareAsync(key, parent, cancellationToken);
            return [new Mount("bind", source, "", ["rw", "rbind"])];
        }

        public ValueTask CommitAsync(string name, string key, CancellationToken cancellationToken) => inner.CommitAsync(name, key, cancellationToken);

        public ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => inner.RemoveAsync(key, cancellationToken);
    }
}
