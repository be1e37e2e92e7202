using Imageimportd.Archive;
using Imageimportd.Content;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>Docker-archive names like <c>&lt;sha256&gt;.tar</c> spare re-sending content, but are never trusted as claims.</summary>
public sealed class DigestHintTests
{
    private static readonly string Hex = new('a', 64);

    [TestCase("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.tar", true)]
    [TestCase("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json", true)]
    [TestCase("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/layer.tar", false)]
    [TestCase("dir/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.tar", false)]
    [TestCase("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.tar", false)]
    [TestCase("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.txt", false)]
    [TestCase("manifest.json", false)]
    public void HintedDigest_Names_OnlyTopLevelHexTarOrJson(string name, bool hinted)
    {
        Assert.That(ArchiveReader.HintedDigest(name) is not null, Is.EqualTo(hinted));
    }

    [Test]
    public async Task IngestAsync_HintTheStoreHas_SendsNothing()
    {
        var store = new InMemoryContentStore();
        var data = new byte[100_000];
        new Random(1).NextBytes(data);
        var digest = store.Put(data);
        var written = store.BytesWritten;
        await using var ingest = new ContentWriteStage(store, "hint", ContentWriteOptions.Default, ArchiveLimits.Default with { MaxCapturedJsonBytes = 1024 });

        var blob = await ingest.IngestAsync($"{digest.Hex}.tar", data.Length, null, digest, new MemoryStream(data), CancellationToken.None);
        await ingest.CompleteAsync(CancellationToken.None);

        Assert.That(blob.Digest, Is.EqualTo(digest));
        Assert.That(store.BytesWritten, Is.EqualTo(written));
    }

    [Test]
    public async Task IngestAsync_WrongHintNotInStore_StoredUnderItsOwnDigest()
    {
        var store = new InMemoryContentStore();
        var data = "real bytes"u8.ToArray();
        var wrong = Digest.Parse("sha256:" + Hex);
        await using var ingest = new ContentWriteStage(store, "hint", ContentWriteOptions.Default, ArchiveLimits.Default);

        var blob = await ingest.IngestAsync($"{Hex}.tar", data.Length, null, wrong, new MemoryStream(data), CancellationToken.None);
        await ingest.CompleteAsync(CancellationToken.None);

        Assert.That(blob.Digest, Is.EqualTo(Digest.FromBytes(data)));
        Assert.That(store.Contains(Digest.FromBytes(data)), Is.True);
    }

    [Test]
    public async Task IngestAsync_SmallBlobWhoseHintNamesOtherStoredContent_StoredUnderItsOwnDigest()
    {
        var store = new InMemoryContentStore();
        var other = store.Put("something else"u8.ToArray());
        var data = "{\"architecture\":\"amd64\"}"u8.ToArray();
        await using var ingest = new ContentWriteStage(store, "hint", ContentWriteOptions.Default, ArchiveLimits.Default);

        var blob = await ingest.IngestAsync($"{other.Hex}.json", data.Length, null, other, new MemoryStream(data), CancellationToken.None);
        await ingest.CompleteAsync(CancellationToken.None);

        Assert.That(blob.Digest, Is.EqualTo(Digest.FromBytes(data)));
        Assert.That(store.Contains(blob.Digest), Is.True);
    }
}
