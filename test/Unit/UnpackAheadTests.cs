using System.Threading.Channels;
using Imageimportd.Archive;
using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using Imageimportd.Unpack;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class UnpackAheadTests
{
    private sealed class Rig : IAsyncDisposable
    {
        public InMemoryContentStore Store { get; } = new();

        public InMemorySnapshotter Snapshotter { get; } = new();

        public FakeDiffApplier Differ { get; }

        public UnpackAhead Ahead { get; }

        private readonly Channel<StoredBlobEvent> _feed = Channel.CreateUnbounded<StoredBlobEvent>();
        private long _written;

        public Rig(Platform? host = null)
        {
            Differ = new FakeDiffApplier(Store);
            Ahead = new UnpackAhead(new Unpacker(Snapshotter, Differ, Store), host ?? ImageBuilder.LinuxAmd64, _feed.Reader, CancellationToken.None);
        }

        /// <summary>Puts the bytes in the store and feeds the stage, as the stored-blob feed would, with the given commit.</summary>
        public void Stored(string path, byte[] bytes, Task? committed = null, BlobState state = BlobState.Stored)
        {
            var digest = Store.Put(bytes);
            var json = bytes.Length > 0 && bytes[0] == (byte)'{' ? bytes : null;
            var blob = new StoredBlob(digest, bytes.Length, bytes.AsMemory(0, Math.Min(16, bytes.Length)), json) { State = state, Committed = committed ?? Task.CompletedTask };
            Assert.That(_feed.Writer.TryWrite(new StoredBlobEvent(path, blob)), Is.True);
            _written++;
        }

        /// <summary>Waits until the stage has taken everything fed so far and found nothing more to do.</summary>
        public Task WhenIdleAsync() => Ahead.WhenIdleAsync(_written);

        /// <summary>Closes the feed, as the importer does after the archive, and stops the stage.</summary>
        public Task StopAsync()
        {
            _feed.Writer.TryComplete();
            return Ahead.StopAsync();
        }

        public async ValueTask DisposeAsync() => await Ahead.DisposeAsync();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeoutExtensions.Limit;
        while (!condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "condition not reached in time");
            await Task.Delay(5);
        }
    }

    [Test]
    public async Task Feed_DockerArchiveLayersBeforeConfig_AppliesThemInArchiveOrderBeforeTheConfigArrives()
    {
        // Arrange: skopeo's docker-archive order: <hex>.tar layers bottom-up, then <hex>.json config.
        await using var rig = new Rig();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("mid"), ImageBuilder.Layer("app"));
        var chain = ChainId.Chain([.. image.Layers.Select(l => l.DiffId)]);

        // Act
        foreach (var layer in image.Layers)
        {
            rig.Stored($"{layer.DiffId.Hex}.tar", layer.Blob);
        }

        await WaitUntilAsync(() => rig.Snapshotter.CommittedNames.Count == 3).WithTimeout();
        rig.Stored($"{image.ConfigDigest.Hex}.json", image.Config);
        await rig.StopAsync().WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rig.Snapshotter.CommittedNames, Is.EquivalentTo(chain.Select(c => c.Value)));
            Assert.That(rig.Snapshotter.Prepared.Select(p => p.Parent), Is.EqualTo(new[] { null, chain[0].Value, chain[1].Value }));
            Assert.That(rig.Ahead.Committed, Has.Count.EqualTo(3));
            Assert.That(rig.Ahead.FirstFault, Is.Null);
            Assert.That(rig.Ahead.Committed, Is.EquivalentTo(chain));
            Assert.That(rig.Store.LabelsOf(image.Layers[2].BlobDigest), Does.Not.ContainKey(ContentLabels.Uncompressed), "the final pass labels the blob the image names");
        }
    }

    [Test]
    public async Task Feed_CommitStillPending_WaitsForItBeforeApplying()
    {
        // Arrange
        await using var rig = new Rig();
        var layer = ImageBuilder.Layer("base");
        var commit = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Act
        rig.Stored($"{layer.DiffId.Hex}.tar", layer.Blob, commit.Task);
        await rig.WhenIdleAsync().WithTimeout();
        var appliedBeforeCommit = rig.Differ.Applied.Count;
        commit.SetResult();
        await WaitUntilAsync(() => rig.Snapshotter.CommittedNames.Count == 1).WithTimeout();

        // Assert
        Assert.That(appliedBeforeCommit, Is.Zero);
    }

    [Test]
    public async Task Feed_CommitFailed_AppliesNothingAndDoesNotThrow()
    {
        // Arrange
        await using var rig = new Rig();
        var layer = ImageBuilder.Layer("base");

        // Act
        rig.Stored($"{layer.DiffId.Hex}.tar", layer.Blob, Task.FromException(new BackendException(FailureKind.Unavailable, "gone")));
        await rig.WhenIdleAsync().WithTimeout();
        await rig.StopAsync().WithTimeout();

        // Assert
        Assert.That(rig.Differ.Applied, Is.Empty);
    }

    [Test]
    public async Task Feed_BlobNotStoredButItsSnapshotExists_GoesOnWithTheLayersAbove()
    {
        // Arrange: the base layer was not sent (a compressed substitute stands in), and its snapshot is there from a pull.
        await using var rig = new Rig();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("app"));
        var chain = ChainId.Chain([.. image.Layers.Select(l => l.DiffId)]);
        await rig.Snapshotter.PrepareAsync("setup", null, CancellationToken.None).WithTimeout();
        await rig.Snapshotter.CommitAsync(chain[0].Value, "setup", CancellationToken.None).WithTimeout();

        // Act
        rig.Stored($"{image.Layers[0].DiffId.Hex}.tar", image.Layers[0].Blob, state: BlobState.Substituted);
        rig.Stored($"{image.Layers[1].DiffId.Hex}.tar", image.Layers[1].Blob);
        await WaitUntilAsync(() => rig.Snapshotter.CommittedNames.Contains(chain[1].Value)).WithTimeout();

        // Assert
        Assert.That(rig.Differ.Applied.Select(a => a.Layer.Digest), Is.EqualTo(new[] { image.Layers[1].BlobDigest }));
    }

    [Test]
    public async Task Feed_OciBlobsInNameOrder_GuessesNothingThenFollowsConfigAndManifest()
    {
        // Arrange: blobs/sha256/<hex> names come in name order, which says nothing of layer order.
        await using var rig = new Rig();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base", gzip: true), ImageBuilder.Layer("app", gzip: true));
        var chain = ChainId.Chain([.. image.Layers.Select(l => l.DiffId)]);

        // Act
        rig.Stored($"blobs/sha256/{image.Layers[1].BlobDigest.Hex}", image.Layers[1].Blob);
        rig.Stored($"blobs/sha256/{image.Layers[0].BlobDigest.Hex}", image.Layers[0].Blob);
        await rig.WhenIdleAsync().WithTimeout();
        var appliedWithoutConfig = rig.Differ.Applied.Count;
        rig.Stored($"blobs/sha256/{image.ConfigDigest.Hex}", image.Config);
        rig.Stored($"blobs/sha256/{image.ManifestDigest.Hex}", image.Manifest);
        await WaitUntilAsync(() => rig.Snapshotter.CommittedNames.Count == 2).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(appliedWithoutConfig, Is.Zero);
            Assert.That(rig.Snapshotter.CommittedNames, Is.EquivalentTo(chain.Select(c => c.Value)));
            Assert.That(rig.Differ.Applied.Select(a => a.Layer.Digest), Is.EqualTo(image.Layers.Select(l => l.BlobDigest)));
            Assert.That(rig.Differ.Applied.Select(a => a.Layer.MediaType), Has.All.EqualTo(MediaTypes.OciLayerGzip));
        }
    }

    [Test]
    public async Task Feed_ConfigBeforeLayers_AppliesEachLayerAsItsBlobArrives()
    {
        // Arrange: config first (as ctr export writes), uncompressed layers whose digests are their diff IDs.
        await using var rig = new Rig();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("app"));
        var chain = ChainId.Chain([.. image.Layers.Select(l => l.DiffId)]);

        // Act
        rig.Stored($"blobs/sha256/{image.ConfigDigest.Hex}", image.Config);
        rig.Stored($"blobs/sha256/{image.Layers[0].BlobDigest.Hex}", image.Layers[0].Blob);
        await WaitUntilAsync(() => rig.Snapshotter.CommittedNames.Count == 1).WithTimeout();
        rig.Stored($"blobs/sha256/{image.Layers[1].BlobDigest.Hex}", image.Layers[1].Blob);
        await WaitUntilAsync(() => rig.Snapshotter.CommittedNames.Count == 2).WithTimeout();

        // Assert
        Assert.That(rig.Snapshotter.CommittedNames, Is.EquivalentTo(chain.Select(c => c.Value)));
    }

    [Test]
    public async Task Feed_GuessedOrderWrong_SnapshotsNamedByWhatWasAppliedAndConfigOrderStillBuilt()
    {
        // Arrange: <hex>.tar layers top-down; the guess applies them in that order until the config says otherwise.
        await using var rig = new Rig();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("app"));
        var right = ChainId.Chain([.. image.Layers.Select(l => l.DiffId)]);
        var guessed = ChainId.Chain([image.Layers[1].DiffId, image.Layers[0].DiffId]);

        // Act
        rig.Stored($"{image.Layers[1].DiffId.Hex}.tar", image.Layers[1].Blob);
        rig.Stored($"{image.Layers[0].DiffId.Hex}.tar", image.Layers[0].Blob);
        await WaitUntilAsync(() => rig.Snapshotter.CommittedNames.Count == 2).WithTimeout();
        rig.Stored($"{image.ConfigDigest.Hex}.json", image.Config);
        await WaitUntilAsync(() => rig.Snapshotter.CommittedNames.Contains(right[1].Value)).WithTimeout();

        // Assert: every snapshot is named by the chain it holds; nothing is named wrongly.
        Assert.That(rig.Snapshotter.CommittedNames, Is.EquivalentTo(guessed.Concat(right).Select(c => c.Value).Distinct()));
    }

    [Test]
    public async Task Feed_ConfigForAnotherPlatform_AppliesNothing()
    {
        // Arrange
        await using var rig = new Rig();
        var image = ImageBuilder.Image(ImageBuilder.LinuxArm64, ImageBuilder.Layer("base", gzip: true));

        // Act
        rig.Stored($"blobs/sha256/{image.ConfigDigest.Hex}", image.Config);
        rig.Stored($"blobs/sha256/{image.ManifestDigest.Hex}", image.Manifest);
        rig.Stored($"blobs/sha256/{image.Layers[0].BlobDigest.Hex}", image.Layers[0].Blob);
        await rig.WhenIdleAsync().WithTimeout();
        await rig.StopAsync().WithTimeout();

        // Assert
        Assert.That(rig.Differ.Applied, Is.Empty);
    }

    [Test]
    public async Task Feed_ConfigForAnotherPlatformBeforeLayers_StopsGuessing()
    {
        // Arrange: a docker-archive of an arm64 image whose config comes first: its layers are not for this host.
        await using var rig = new Rig();
        var image = ImageBuilder.Image(ImageBuilder.LinuxArm64, ImageBuilder.Layer("base"));

        // Act
        rig.Stored($"{image.ConfigDigest.Hex}.json", image.Config);
        rig.Stored($"{image.Layers[0].DiffId.Hex}.tar", image.Layers[0].Blob);
        await rig.WhenIdleAsync().WithTimeout();
        await rig.StopAsync().WithTimeout();

        // Assert
        Assert.That(rig.Differ.Applied, Is.Empty);
    }

    [Test]
    public async Task Feed_ApplyFails_KeepsTheFaultStopsThatPlanAndLeavesNoActiveSnapshot()
    {
        // Arrange
        await using var rig = new Rig();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("app"));
        rig.Differ.Fault = _ => new BackendException(FailureKind.ResourceExhausted, "no space left on device");

        // Act
        foreach (var layer in image.Layers)
        {
            rig.Stored($"{layer.DiffId.Hex}.tar", layer.Blob);
        }

        await WaitUntilAsync(() => rig.Ahead.FirstFault is not null).WithTimeout();
        await rig.WhenIdleAsync().WithTimeout();
        await rig.StopAsync().WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rig.Ahead.FirstFault, Is.TypeOf<BackendException>());
            Assert.That(rig.Snapshotter.Prepared, Has.Count.EqualTo(1));
            Assert.That(rig.Snapshotter.ActiveKeys, Is.Empty);
            Assert.That(rig.Snapshotter.CommittedNames, Is.Empty);
        }
    }

    [Test]
    public async Task Feed_SnapshotAlreadyThere_SkipsTheApply()
    {
        // Arrange: a re-import: the layer's snapshot exists from before.
        await using var rig = new Rig();
        var layer = ImageBuilder.Layer("base");
        await rig.Snapshotter.PrepareAsync("setup", null, CancellationToken.None).WithTimeout();
        await rig.Snapshotter.CommitAsync(layer.DiffId.Value, "setup", CancellationToken.None).WithTimeout();

        // Act
        rig.Stored($"{layer.DiffId.Hex}.tar", layer.Blob);
        await rig.WhenIdleAsync().WithTimeout();
        await rig.StopAsync().WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(rig.Differ.Applied, Is.Empty);
            Assert.That(rig.Ahead.Committed, Is.Empty);
        }
    }

    [Test]
    public async Task DisposeAsync_WhileApplying_CancelsAndLeavesNoActiveSnapshot()
    {
        // Arrange: the differ blocks until cancelled.
        var rig = new Rig();
        var layer = ImageBuilder.Layer("base");
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        rig.Differ.Fault = _ =>
        {
            entered.TrySetResult();
            Thread.Sleep(100);
            return new OperationCanceledException();
        };

        // Act
        rig.Stored($"{layer.DiffId.Hex}.tar", layer.Blob);
        await entered.Task.WithTimeout();
        await rig.DisposeAsync().AsTask().WithTimeout();

        // Assert
        Assert.That(rig.Snapshotter.ActiveKeys, Is.Empty);
    }
}
