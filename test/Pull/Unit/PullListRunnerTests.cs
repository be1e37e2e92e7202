using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Oci;
using Imageimportd.Pull;
using NUnit.Framework;

namespace Imageimportd.Tests.Pull.Unit;

[TestFixture]
public sealed class PullListRunnerTests
{
    private const string ListPath = "/etc/imageimportd/images/node.txt";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private FakeImageStore _store = null!;
    private FakePuller _puller = null!;

    [SetUp]
    public void SetUp()
    {
        _store = new FakeImageStore();
        _puller = new FakePuller(_store);
    }

    [Test]
    public async Task RunAsync_ImagePresent_NoPull()
    {
        SeedPresent("docker.io/library/nginx:1.25", pinned: false);

        var result = await Runner().RunAsync(Entries("docker.io/library/nginx:1.25"), CancellationToken.None).WaitAsync(Bound);

        var entry = result.Entries.Single();
        Assert.That(entry.Outcome, Is.EqualTo(PullOutcome.AlreadyPresent));
        Assert.That(entry.ImageId, Is.EqualTo(FakePuller.ImageIdOf("docker.io/library/nginx:1.25")));
        Assert.That(_puller.Pulls, Is.Zero);
        Assert.That(_puller.Statuses, Is.EqualTo(1));
    }

    [Test]
    public async Task RunAsync_PresentButUnpinned_PinsWithoutPulling()
    {
        SeedPresent("docker.io/library/nginx:1.25", pinned: false);

        var result = await Runner().RunAsync(Entries("docker.io/library/nginx:1.25"), CancellationToken.None).WaitAsync(Bound);

        Assert.That(result.Entries.Single().LabeledNames, Has.Count.EqualTo(2));
        Assert.That(_store.Get("docker.io/library/nginx:1.25").Labels[ImageLabels.CriPinned], Is.EqualTo(ImageLabels.CriPinnedValue));
        Assert.That(_puller.Pulls, Is.Zero);
    }

    [Test]
    public async Task RunAsync_ImageAbsent_PullsAndPinsReferenceAndDigestTwin()
    {
        const string Reference = "docker.io/library/redis:7";

        var result = await Runner().RunAsync(Entries(Reference), CancellationToken.None).WaitAsync(Bound);

        var entry = result.Entries.Single();
        var twin = ImageNaming.DigestNameOf(Reference, FakePuller.TargetOf(Reference).Digest)!;
        Assert.Multiple(() =>
        {
            Assert.That(entry.Outcome, Is.EqualTo(PullOutcome.Pulled));
            Assert.That(entry.ImageId, Is.EqualTo(FakePuller.ImageIdOf(Reference)));
            Assert.That(entry.FailureReason, Is.Null);
            Assert.That(entry.LabeledNames, Is.EqualTo(new[] { Reference, twin }));
            Assert.That(_puller.Pulls, Is.EqualTo(1));
            foreach (var name in new[] { Reference, twin })
            {
                var labels = _store.Get(name).Labels;
                Assert.That(labels[ImageLabels.CriPinned], Is.EqualTo(ImageLabels.CriPinnedValue), name);
                Assert.That(labels[ImageLabels.Source], Is.EqualTo(ListPath), name);
            }

            Assert.That(_store.Updates.Select(u => u.Fields), Has.All.EquivalentTo(new[] { "labels." + ImageLabels.CriPinned, "labels." + ImageLabels.Pinned, "labels." + ImageLabels.Source }));
            Assert.That(result.Pulled, Is.EqualTo(1));
            Assert.That(result.Source, Is.EqualTo(ListPath));
        });
    }

    [Test]
    public async Task RunAsync_AlreadyPinned_ZeroImageWrites()
    {
        SeedPresent("docker.io/library/nginx:1.25", pinned: true);

        var result = await Runner().RunAsync(Entries("docker.io/library/nginx:1.25"), CancellationToken.None).WaitAsync(Bound);

        Assert.That(result.Entries.Single().Outcome, Is.EqualTo(PullOutcome.AlreadyPresent));
        Assert.That(result.Entries.Single().LabeledNames, Is.Empty);
        Assert.That(_store.Writes, Is.Zero);
    }

    [Test]
    public async Task RunAsync_SecondRun_NoPullsNoWrites()
    {
        var entries = Entries("docker.io/library/redis:7", "docker.io/library/nginx:1.25");
        await Runner().RunAsync(entries, CancellationToken.None).WaitAsync(Bound);
        var writesAfterFirst = _store.Writes;

        var second = await Runner().RunAsync(entries, CancellationToken.None).WaitAsync(Bound);

        Assert.That(second.Entries.Select(e => e.Outcome), Is.All.EqualTo(PullOutcome.AlreadyPresent));
        Assert.That(_puller.Pulls, Is.EqualTo(2));
        Assert.That(_store.Writes, Is.EqualTo(writesAfterFirst));
    }

    [Test]
    public async Task RunAsync_SourceFromAnotherFile_KeptAndOnlyPinWritten()
    {
        SeedPresent("docker.io/library/nginx:1.25", pinned: false, source: "/var/lib/images/nginx.tar");

        await Runner().RunAsync(Entries("docker.io/library/nginx:1.25"), CancellationToken.None).WaitAsync(Bound);

        Assert.That(_store.Get("docker.io/library/nginx:1.25").Labels[ImageLabels.Source], Is.EqualTo("/var/lib/images/nginx.tar"));
        Assert.That(_store.Updates.Select(u => u.Fields), Has.All.EqualTo(new[] { "labels." + ImageLabels.CriPinned, "labels." + ImageLabels.Pinned }));
    }

    [Test]
    public async Task RunAsync_PinOff_OnlySourceLabelWritten()
    {
        var runner = new PullListRunner(_puller, _store, new PullListOptions { Source = ListPath, Pin = false });

        await runner.RunAsync(Entries("docker.io/library/redis:7"), CancellationToken.None).WaitAsync(Bound);

        Assert.That(_store.Get("docker.io/library/redis:7").Labels.ContainsKey(ImageLabels.CriPinned), Is.False);
        Assert.That(_store.Get("docker.io/library/redis:7").Labels[ImageLabels.Source], Is.EqualTo(ListPath));
    }

    [Test]
    public async Task RunAsync_TransientContainerdFailure_FailedTransientOthersContinue()
    {
        _puller.FailPull("docker.io/library/bad:1", new BackendException(FailureKind.Unavailable, "CRI pull docker.io/library/bad:1: connection refused"));

        var result = await Runner().RunAsync(Entries("docker.io/library/bad:1", "docker.io/library/good:1"), CancellationToken.None).WaitAsync(Bound);

        var failed = result.Entries[0];
        Assert.Multiple(() =>
        {
            Assert.That(failed.Outcome, Is.EqualTo(PullOutcome.Failed));
            Assert.That(failed.IsTransient, Is.True);
            Assert.That(failed.FailureReason, Does.Contain("connection refused"));
            Assert.That(failed.ImageId, Is.Null);
            Assert.That(result.Entries[1].Outcome, Is.EqualTo(PullOutcome.Pulled));
            Assert.That(result.Failed, Is.EqualTo(1));
            Assert.That(result.AnyTransientFailure, Is.True);
        });
    }

    [Test]
    public async Task RunAsync_PermanentContainerdFailure_FailedNotTransient()
    {
        _puller.FailPull("docker.io/library/missing:1", new BackendException(FailureKind.NotFound, "CRI pull docker.io/library/missing:1: not found"));

        var result = await Runner().RunAsync(Entries("docker.io/library/missing:1"), CancellationToken.None).WaitAsync(Bound);

        Assert.That(result.Entries.Single(), Has.Property(nameof(PullEntryResult.Outcome)).EqualTo(PullOutcome.Failed)
            .And.Property(nameof(PullEntryResult.IsTransient)).False);
        Assert.That(result.AnyTransientFailure, Is.False);
    }

    [Test]
    public async Task RunAsync_OtherException_FailedNotTransient()
    {
        _puller.FailPull("docker.io/library/odd:1", new InvalidDataException("bad descriptor"));

        var result = await Runner().RunAsync(Entries("docker.io/library/odd:1"), CancellationToken.None).WaitAsync(Bound);

        Assert.That(result.Entries.Single().Outcome, Is.EqualTo(PullOutcome.Failed));
        Assert.That(result.Entries.Single().IsTransient, Is.False);
        Assert.That(result.Entries.Single().FailureReason, Is.EqualTo("bad descriptor"));
    }

    [Test]
    public async Task RunAsync_PinFailsAfterPull_FailedWithImageIdAndSaysUnpinned()
    {
        _store.UpdateFailure = new BackendException(FailureKind.ResourceExhausted, "update image: no space left on device");

        var result = await Runner().RunAsync(Entries("docker.io/library/redis:7"), CancellationToken.None).WaitAsync(Bound);

        var entry = result.Entries.Single();
        Assert.That(entry.Outcome, Is.EqualTo(PullOutcome.Failed));
        Assert.That(entry.IsTransient, Is.True);
        Assert.That(entry.ImageId, Is.EqualTo(FakePuller.ImageIdOf("docker.io/library/redis:7")));
        Assert.That(entry.FailureReason, Does.StartWith("pulled, but not labelled: "));
    }

    [Test]
    public async Task RunAsync_CriHasImageButStoreHasNoRecord_FailedNamingNamespace()
    {
        var store = new FakeImageStore();
        var runner = new PullListRunner(_puller, store, new PullListOptions { Source = ListPath });

        var result = await runner.RunAsync(Entries("docker.io/library/redis:7"), CancellationToken.None).WaitAsync(Bound);

        Assert.That(result.Entries.Single().Outcome, Is.EqualTo(PullOutcome.Failed));
        Assert.That(result.Entries.Single().FailureReason, Does.Contain("k8s.io"));
    }

    [Test]
    public async Task RunAsync_ManyAbsent_ParallelismBoundRespected()
    {
        var references = Enumerable.Range(0, 6).Select(i => $"docker.io/library/app{i}:1").ToArray();
        using var gate = new SemaphoreSlim(0);
        _puller.Gate = gate;

        var run = Runner().RunAsync(Entries(references), CancellationToken.None);
        await WaitUntilAsync(() => _puller.InFlight == 2).WaitAsync(Bound);
        // Give a third pull every chance to start if the bound were not enforced.
        await Task.Delay(200).WaitAsync(Bound);
        var inFlightWhileHeld = _puller.InFlight;
        gate.Release(references.Length);
        var result = await run.WaitAsync(Bound);

        Assert.That(inFlightWhileHeld, Is.EqualTo(2));
        Assert.That(_puller.MaxInFlight, Is.EqualTo(2));
        Assert.That(result.Entries.Select(e => e.Entry.Reference), Is.EqualTo(references), "results in list order");
        Assert.That(result.Entries.Select(e => e.Outcome), Is.All.EqualTo(PullOutcome.Pulled));
    }

    [Test]
    public async Task RunAsync_Cancelled_ThrowsOperationCanceled()
    {
        using var gate = new SemaphoreSlim(0);
        using var cts = new CancellationTokenSource();
        _puller.Gate = gate;

        var run = Runner().RunAsync(Entries("docker.io/library/redis:7"), cts.Token);
        await WaitUntilAsync(() => _puller.InFlight == 1).WaitAsync(Bound);
        await cts.CancelAsync().WaitAsync(Bound);

        Assert.That(async () => await run.WaitAsync(Bound), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void Constructor_ZeroParallelism_Throws()
    {
        Assert.That(() => new PullListRunner(_puller, _store, new PullListOptions { Source = ListPath, MaxParallelPulls = 0 }), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    private static List<PullEntry> Entries(params string[] references) =>
        references.Select((r, i) => new PullEntry(r, i + 1, r)).ToList();

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        while (!condition())
        {
            await Task.Delay(10);
        }
    }

    private PullListRunner Runner() => new(_puller, _store, new PullListOptions { Source = ListPath });

    private void SeedPresent(string reference, bool pinned, string? source = null)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (pinned)
        {
            labels[ImageLabels.CriPinned] = ImageLabels.CriPinnedValue;
            labels[ImageLabels.Source] = source ?? ListPath;
        }
        else if (source is not null)
        {
            labels[ImageLabels.Source] = source;
        }

        var target = FakePuller.TargetOf(reference);
        _store.Seed(new ImageRecord(reference, target, labels));
        _store.Seed(new ImageRecord(ImageNaming.DigestNameOf(reference, target.Digest)!, target, labels));
    }
}
