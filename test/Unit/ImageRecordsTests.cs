using Imageimportd.Images;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class ImageRecordsTests
{
    private static readonly Descriptor Target = new(MediaTypes.OciIndex, Digest.FromString("index"), 5);

    private InMemoryImageStore _store = null!;
    private ImageRecords _pins = null!;

    [SetUp]
    public void SetUp()
    {
        _store = new InMemoryImageStore();
        _pins = new ImageRecords(_store);
    }

    [Test]
    public async Task PinAsync_Unpinned_SetsCriPinAndOurMark()
    {
        _store.Seed(new ImageRecord("app:1", Target, new Dictionary<string, string> { ["other"] = "kept" }));

        var wrote = await _pins.PinAsync((await _store.GetAsync("app:1", CancellationToken.None))!, CancellationToken.None).WithTimeout();

        var labels = (await _store.GetAsync("app:1", CancellationToken.None))!.Labels;
        Assert.That(wrote, Is.True);
        Assert.That(labels, Does.ContainKey(ImageLabels.CriPinned).WithValue(ImageLabels.CriPinnedValue)
            .And.ContainKey(ImageLabels.Pinned).WithValue(ImageLabels.PinnedValue)
            .And.ContainKey("other"));
    }

    [Test]
    public async Task PinAsync_PinnedBySomeoneElse_NoWriteNoMark()
    {
        _store.Seed(new ImageRecord("pause:3", Target, new Dictionary<string, string> { [ImageLabels.CriPinned] = ImageLabels.CriPinnedValue }));

        var wrote = await _pins.PinAsync((await _store.GetAsync("pause:3", CancellationToken.None))!, CancellationToken.None).WithTimeout();

        Assert.That(wrote, Is.False);
        Assert.That(_store.Writes, Is.Zero);
        Assert.That(ImageRecords.LabelsToPin((await _store.GetAsync("pause:3", CancellationToken.None))!.Labels), Is.Empty);
    }

    [Test]
    public async Task UnpinAsync_PinnedBySomeoneElse_LeftPinned()
    {
        _store.Seed(new ImageRecord("pause:3", Target, new Dictionary<string, string> { [ImageLabels.CriPinned] = ImageLabels.CriPinnedValue }));

        var wrote = await _pins.UnpinAsync((await _store.GetAsync("pause:3", CancellationToken.None))!, CancellationToken.None).WithTimeout();

        Assert.That(wrote, Is.False);
        Assert.That((await _store.GetAsync("pause:3", CancellationToken.None))!.Labels, Does.ContainKey(ImageLabels.CriPinned));
    }

    [Test]
    public async Task UnpinAsync_Ours_BothLabelsRemovedOthersKept()
    {
        _store.Seed(new ImageRecord("app:1", Target, new Dictionary<string, string>
        {
            [ImageLabels.CriPinned] = ImageLabels.CriPinnedValue,
            [ImageLabels.Pinned] = ImageLabels.PinnedValue,
            [ImageLabels.Source] = "/i/app.tar",
        }));

        var wrote = await _pins.UnpinAsync((await _store.GetAsync("app:1", CancellationToken.None))!, CancellationToken.None).WithTimeout();

        Assert.That(wrote, Is.True);
        Assert.That((await _store.GetAsync("app:1", CancellationToken.None))!.Labels.Keys, Is.EquivalentTo(new[] { ImageLabels.Source }));
    }

    [Test]
    public async Task ListOursAsync_OnlyImagesWithOurMark()
    {
        _store.Seed(new ImageRecord("ours:1", Target, new Dictionary<string, string> { [ImageLabels.CriPinned] = ImageLabels.CriPinnedValue, [ImageLabels.Pinned] = ImageLabels.PinnedValue }));
        _store.Seed(new ImageRecord("theirs:1", Target, new Dictionary<string, string> { [ImageLabels.CriPinned] = ImageLabels.CriPinnedValue }));

        var ours = await _pins.ListOursAsync(CancellationToken.None).WithTimeout();

        Assert.That(ours.Keys, Is.EqualTo(new[] { "ours:1" }));
    }
}
