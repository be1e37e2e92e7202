using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using Imageimportd.Unpack;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class UnpackerTests
{
    private static ResolvedManifest Resolve(TestImage image, InMemoryContentStore store)
    {
        foreach (var (_, bytes) in image.Blobs)
        {
            store.Put(bytes);
        }

        return new ResolvedManifest(image.ManifestDescriptor, ImageJson.ParseManifest(image.Manifest, "manifest"), ImageJson.ParseConfig(image.Config, "config"));
    }

    [Test]
    public void Chain_TwoDiffIds_MatchesHandComputedChainId()
    {
        // Arrange: chain[1] = sha256("<diff0> <diff1>"), computed with sha256sum.
        var diff0 = Digest.Parse("sha256:4fbec69b941195fd56f8212a5000e304129451d82efca94ff0e0fb2d5355472e");
        var diff1 = Digest.Parse("sha256:77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2");
        var diff2 = Digest.Parse("sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910");

        // Act
        var chain = ChainId.Chain([diff0, diff1, diff2]);

        // Assert
        Assert.That(chain.Select(c => c.Value), Is.EqualTo(new[]
        {
            diff0.Value,
            "sha256:ef232af0eb422cdfd7917631657cd8ed2bfd5b9461b37c427aa0d3e0a19adf79",
            "sha256:77321bd79c152e829bf8edd771df7fec269adfd3d1e129f2cfb17629818f52cf",
        }));
    }

    [Test]
    public void Chain_NoDiffIds_Empty()
    {
        Assert.That(ChainId.Chain([]), Is.Empty);
    }

    [Test]
    public async Task UnpackAsync_FreshSnapshotter_CommitsEveryChainIdOnItsParent()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base", gzip: true), ImageBuilder.Layer("app"));
        var resolved = Resolve(image, store);
        var snapshotter = new InMemorySnapshotter();
        var chain = ChainId.Chain([.. image.Layers.Select(l => l.DiffId)]);

        // Act
        var applied = await new Unpacker(snapshotter, new FakeDiffApplier(store), store).UnpackAsync(resolved, CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(applied, Is.EqualTo(2));
            Assert.That(snapshotter.CommittedNames, Is.EquivalentTo(chain.Select(c => c.Value)));
            Assert.That(snapshotter.ParentOf(chain[0].Value), Is.Null);
            Assert.That(snapshotter.ParentOf(chain[1].Value), Is.EqualTo(chain[0].Value));
            Assert.That(snapshotter.ActiveKeys, Is.Empty);
            Assert.That(snapshotter.Prepared.Select(p => p.Key), Has.All.StartWith("extract-"));
        }
    }

    [Test]
    public async Task UnpackAsync_FirstSnapshotExists_AppliesOnlyTheRest()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var image = ImageBuilder.Image(ImageBuilder.Layer("shared"), ImageBuilder.Layer("mine"));
        var resolved = Resolve(image, store);
        var chain = ChainId.Chain([.. image.Layers.Select(l => l.DiffId)]);
        var snapshotter = new InMemorySnapshotter();
        snapshotter.SeedCommitted(chain[0].Value);
        var differ = new FakeDiffApplier(store);

        // Act
        var applied = await new Unpacker(snapshotter, differ, store).UnpackAsync(resolved, CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(applied, Is.EqualTo(1));
            Assert.That(differ.Applied.Select(a => a.Layer.Digest), Is.EqualTo(new[] { image.Layers[1].BlobDigest }));
            Assert.That(snapshotter.Prepared.Single().Parent, Is.EqualTo(chain[0].Value));
            Assert.That(store.LabelsOf(image.Layers[0].BlobDigest), Does.Not.ContainKey(ContentLabels.Uncompressed), "a skipped layer is not relabelled");
        }
    }

    [Test]
    public async Task UnpackAsync_AllSnapshotsExist_AppliesNothingButLabelsConfig()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var image = ImageBuilder.Image(ImageBuilder.Layer("a"), ImageBuilder.Layer("b"));
        var resolved = Resolve(image, store);
        var chain = ChainId.Chain([.. image.Layers.Select(l => l.DiffId)]);
        var snapshotter = new InMemorySnapshotter("native");
        snapshotter.SeedCommitted(chain[0].Value);
        snapshotter.SeedCommitted(chain[1].Value, chain[0].Value);

        // Act
        var applied = await new Unpacker(snapshotter, new FakeDiffApplier(store), store).UnpackAsync(resolved, CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(applied, Is.Zero);
            Assert.That(snapshotter.Prepared, Is.Empty);
            Assert.That(store.LabelsOf(image.ConfigDigest)["containerd.io/gc.ref.snapshot.native"], Is.EqualTo(chain[1].Value));
        }
    }

    [Test]
    public async Task UnpackAsync_Applied_SetsUncompressedOnLayersAndSnapshotRefOnConfig()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var gz = ImageBuilder.Layer("compressed", gzip: true);
        var plain = ImageBuilder.Layer("plain");
        var image = ImageBuilder.Image(gz, plain);
        var resolved = Resolve(image, store);
        var chain = ChainId.Chain([gz.DiffId, plain.DiffId]);

        // Act
        await new Unpacker(new InMemorySnapshotter(), new FakeDiffApplier(store), store).UnpackAsync(resolved, CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(store.LabelsOf(gz.BlobDigest), Is.EquivalentTo(new Dictionary<string, string> { [ContentLabels.Uncompressed] = gz.DiffId.Value }));
            Assert.That(gz.DiffId, Is.Not.EqualTo(gz.BlobDigest));
            Assert.That(store.LabelsOf(plain.BlobDigest)[ContentLabels.Uncompressed], Is.EqualTo(plain.DiffId.Value));
            Assert.That(store.LabelsOf(image.ConfigDigest), Is.EquivalentTo(new Dictionary<string, string> { ["containerd.io/gc.ref.snapshot.overlayfs"] = chain[1].Value }));
        }
    }

    [Test]
    public async Task UnpackAsync_DiffIdMismatch_ThrowsAndRemovesPreparedSnapshot()
    {
        // Arrange: the config claims a diff ID the layer does not have.
        var store = new InMemoryContentStore();
        var layer = ImageBuilder.Layer("real");
        var claimed = Digest.FromString("not the layer");
        var image = ImageBuilder.Image(ImageBuilder.LinuxAmd64, [layer], [claimed]);
        var resolved = Resolve(image, store);
        var snapshotter = new InMemorySnapshotter();

        // Act
        var ex = await AsyncAssert.ThrowsAsync<InvalidDataException>(() => new Unpacker(snapshotter, new FakeDiffApplier(store), store).UnpackAsync(resolved, CancellationToken.None));

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex.Message, Does.Contain(layer.DiffId.Value).And.Contain(claimed.Value));
            Assert.That(snapshotter.ActiveKeys, Is.Empty);
            Assert.That(snapshotter.CommittedNames, Is.Empty);
            Assert.That(snapshotter.Removed, Is.EqualTo(snapshotter.Prepared.Select(p => p.Key)));
            Assert.That(store.LabelsOf(layer.BlobDigest), Is.Empty);
            Assert.That(store.LabelsOf(image.ConfigDigest), Is.Empty);
        }
    }

    [Test]
    public async Task UnpackAsync_ApplyFails_PreparedSnapshotRemovedAndErrorKept()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var image = ImageBuilder.Image(ImageBuilder.Layer("a"));
        var resolved = Resolve(image, store);
        var snapshotter = new InMemorySnapshotter();
        var differ = new FakeDiffApplier(store) { Fault = _ => new BackendException(FailureKind.Unavailable, "containerd restarting") };

        // Act
        var ex = await AsyncAssert.ThrowsAsync<BackendException>(() => new Unpacker(snapshotter, differ, store).UnpackAsync(resolved, CancellationToken.None));

        // Assert
        Assert.That((ex.Kind, snapshotter.ActiveKeys.Count, snapshotter.Removed.Count), Is.EqualTo((FailureKind.Unavailable, 0, 1)));
    }

    [Test]
    public async Task UnpackAsync_CommitLosesRaceWithAlreadyExists_TreatedAsSuccess()
    {
        // Arrange: another unpack commits the same chain ID between our Prepare and our Commit.
        var store = new InMemoryContentStore();
        var image = ImageBuilder.Image(ImageBuilder.Layer("a"), ImageBuilder.Layer("b"));
        var resolved = Resolve(image, store);
        var chain = ChainId.Chain([.. image.Layers.Select(l => l.DiffId)]);
        var snapshotter = new InMemorySnapshotter();
        snapshotter.BeforeCommit = (name, _) =>
        {
            if (name == chain[0].Value)
            {
                snapshotter.SeedCommitted(name);
            }
        };

        // Act
        var applied = await new Unpacker(snapshotter, new FakeDiffApplier(store), store).UnpackAsync(resolved, CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(applied, Is.EqualTo(2));
            Assert.That(snapshotter.CommittedNames, Is.EquivalentTo(chain.Select(c => c.Value)));
            Assert.That(snapshotter.ActiveKeys, Is.Empty, "the losing key is removed");
            Assert.That(snapshotter.Commits.Select(c => c.Name), Is.EqualTo(new[] { chain[1].Value }));
        }
    }

    [Test]
    public async Task UnpackAsync_PrepareKeyCollision_RetriesWithAnotherKey()
    {
        // Arrange: the first key tried is taken (as if by a concurrent unpack with the same random key).
        var store = new InMemoryContentStore();
        var image = ImageBuilder.Image(ImageBuilder.Layer("a"));
        var resolved = Resolve(image, store);
        var inner = new InMemorySnapshotter();
        var snapshotter = new CollidingSnapshotter(inner);

        // Act
        var applied = await new Unpacker(snapshotter, new FakeDiffApplier(store), store).UnpackAsync(resolved, CancellationToken.None).WithTimeout();

        // Assert
        Assert.That((applied, snapshotter.Collisions, inner.CommittedNames.Count), Is.EqualTo((1, 1, 1)));
    }

    [Test]
    public async Task UnpackAsync_PrepareAlwaysCollides_GivesUpAfterAFewKeysWithTheError()
    {
        // Arrange: every key is "taken": something other than a random collision is wrong.
        var store = new InMemoryContentStore();
        var resolved = Resolve(ImageBuilder.Image(ImageBuilder.Layer("a")), store);
        var inner = new InMemorySnapshotter();
        var snapshotter = new CollidingSnapshotter(inner, times: int.MaxValue);

        // Act
        var ex = await AsyncAssert.ThrowsAsync<BackendException>(() => new Unpacker(snapshotter, new FakeDiffApplier(store), store).UnpackAsync(resolved, CancellationToken.None));

        // Assert
        Assert.That((ex.Kind, snapshotter.Collisions, inner.CommittedNames.Count), Is.EqualTo((FailureKind.AlreadyExists, 5, 0)));
    }

    [Test]
    public async Task UnpackAsync_DiffIdCountDiffersFromLayers_ThrowsBeforeTouchingSnapshots()
    {
        // Arrange
        var store = new InMemoryContentStore();
        var layer = ImageBuilder.Layer("a");
        var image = ImageBuilder.Image(ImageBuilder.LinuxAmd64, [layer], [layer.DiffId, layer.DiffId]);
        var resolved = Resolve(image, store);
        var snapshotter = new InMemorySnapshotter();

        // Act
        var ex = await AsyncAssert.ThrowsAsync<InvalidDataException>(() => new Unpacker(snapshotter, new FakeDiffApplier(store), store).UnpackAsync(resolved, CancellationToken.None));

        // Assert
        Assert.That((ex.Message.Contains("2 diff IDs for 1 layers", StringComparison.Ordinal), snapshotter.Prepared.Count), Is.EqualTo((true, 0)));
    }

    /// <summary>Answers the first <paramref name="times"/> Prepares with AlreadyExists, then delegates.</summary>
    private sealed class CollidingSnapshotter(InMemorySnapshotter inner, int times = 1) : ISnapshotter
    {
        public int Collisions { get; private set; }

        public string Name => inner.Name;

        public ValueTask<bool> ExistsAsync(string key, CancellationToken cancellationToken) => inner.ExistsAsync(key, cancellationToken);

        public ValueTask<IReadOnlyList<Mount>> PrepareAsync(string key, string? parent, CancellationToken cancellationToken)
        {
            if (Collisions < times)
            {
                Collisions++;
                throw new BackendException(FailureKind.AlreadyExists, $"snapshot {key}: already exists");
            }

            return inner.PrepareAsync(key, parent, cancellationToken);
        }

        public ValueTask CommitAsync(string name, string key, CancellationToken cancellationToken) => inner.CommitAsync(name, key, cancellationToken);

        public ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => inner.RemoveAsync(key, cancellationToken);
    }

    [Test]
    public async Task UnpackAsync_ChainAppliedEarlierSharedByTwoImages_LabelsOnlyTheFirstImagesBlob()
    {
        // Arrange: the same layer as a plain blob in one image and gzip in another; unpack ahead applied the chain.
        var store = new InMemoryContentStore();
        var layer = ImageBuilder.Layer("base");
        var plain = Resolve(ImageBuilder.Image(layer), store);
        var gzip = Resolve(ImageBuilder.Image(ImageBuilder.FromTar(layer.Tar, gzip: true)), store);
        var snapshotter = new InMemorySnapshotter();
        await snapshotter.PrepareAsync("ahead", null, CancellationToken.None).WithTimeout();
        await snapshotter.CommitAsync(layer.DiffId.Value, "ahead", CancellationToken.None).WithTimeout();
        var appliedEarlier = new HashSet<Digest> { layer.DiffId };
        var unpacker = new Unpacker(snapshotter, new FakeDiffApplier(store), store);

        // Act
        var applied = await unpacker.UnpackAsync(plain, appliedEarlier, CancellationToken.None).WithTimeout()
            + await unpacker.UnpackAsync(gzip, appliedEarlier, CancellationToken.None).WithTimeout();

        // Assert: as containerd's unpacker: the blob it applied is labelled, the second image found the snapshot there.
        using (Assert.EnterMultipleScope())
        {
            Assert.That(applied, Is.Zero);
            Assert.That(store.LabelsOf(layer.BlobDigest)[ContentLabels.Uncompressed], Is.EqualTo(layer.DiffId.Value));
            Assert.That(store.LabelsOf(gzip.Manifest.Layers[0].Digest), Does.Not.ContainKey(ContentLabels.Uncompressed));
            Assert.That(appliedEarlier, Is.EquivalentTo(new[] { layer.DiffId }), "the caller's set is not changed");
        }
    }
}
