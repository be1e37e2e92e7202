using System.Text;
using Imageimportd.Compression;
using NUnit.Framework;

namespace Imageimportd.Tests.Compression;

[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class DecompressorDetectTests
{
    private static readonly object[] Headers =
    [
        new object[] { "1F 8B 08 00 00 00 00 00 00 03", CompressionKind.Gzip },
        new object[] { "28 B5 2F FD 04 58 00 00 00 00", CompressionKind.Zstd },
        new object[] { "50 2A 4D 18 08 00 00 00 00 00", CompressionKind.Zstd },
        new object[] { "5F 2A 4D 18 08 00 00 00 00 00", CompressionKind.Zstd },
        new object[] { "42 5A 68 39 31 41 59 26 53 59", CompressionKind.Bzip2 },
        new object[] { "42 5A 68 31 17 72 45 38 50 90", CompressionKind.Bzip2 },
        new object[] { "42 5A 68 39", CompressionKind.Bzip2 },
        new object[] { "04 22 4D 18 64 40 A7 00 00 00", CompressionKind.Lz4 },
        new object[] { "02 21 4C 18 00 00 00 00 00 00", CompressionKind.Lz4 },
        new object[] { "FD 37 7A 58 5A 00 00 04 E6 D6", CompressionKind.Xz },
        new object[] { "FD 37 7A 58 5A 00", CompressionKind.Xz },

        // Near misses and things that are not compressed.
        new object[] { "1F 8B", CompressionKind.None },
        new object[] { "1F 8B 07 00 00 00 00 00 00 03", CompressionKind.None },
        new object[] { "28 B5 2F", CompressionKind.None },
        new object[] { "FD 37 7A 58 5A", CompressionKind.None },
        new object[] { "42 5A 68 30 31 41 59 26 53 59", CompressionKind.None },
        new object[] { "5D 00 00 80 00 FF FF FF FF FF", CompressionKind.None },
        new object[] { "", CompressionKind.None },
        new object[] { "00", CompressionKind.None },
    ];

    [TestCaseSource(nameof(Headers))]
    public void Detect_MagicBytes_IdentifiesKind(string hex, CompressionKind expected) =>
        Assert.That(Decompressor.Detect(Convert.FromHexString(hex.Replace(" ", "", StringComparison.Ordinal))), Is.EqualTo(expected));

    [Test]
    public void Detect_PlainTar_IsNone() =>
        Assert.That(Decompressor.Detect(TestPayloads.Tar.AsSpan(0, Decompressor.HeaderLength)), Is.EqualTo(CompressionKind.None));

    [Test]
    public void Detect_TarWhoseFirstNameLooksLikeBzip2Magic_IsNone()
    {
        // "BZh9" is plain ASCII, so a tar could start with it; the block marker that follows in real bzip2 cannot.
        var header = Encoding.ASCII.GetBytes("BZh9-notes.txt");
        Assert.That(Decompressor.Detect(header), Is.EqualTo(CompressionKind.None));
    }

    [TestCase("gzip", CompressionKind.Gzip)]
    [TestCase("zstd", CompressionKind.Zstd)]
    [TestCase("bzip2", CompressionKind.Bzip2)]
    [TestCase("lz4", CompressionKind.Lz4)]
    [TestCase("xz", CompressionKind.Xz)]
    public void Detect_RealToolOutput_IdentifiesKind(string tool, CompressionKind expected)
    {
        var compressed = TestPayloads.Compress("mixed", tool);
        Assert.That(Decompressor.Detect(compressed.AsSpan(0, Decompressor.HeaderLength)), Is.EqualTo(expected));
    }

    [TestCase("gzip", CompressionKind.Gzip)]
    [TestCase("zstd", CompressionKind.Zstd)]
    [TestCase("bzip2", CompressionKind.Bzip2)]
    [TestCase("lz4", CompressionKind.Lz4)]
    [TestCase("xz", CompressionKind.Xz)]
    public void Detect_EmptyInputCompressed_IdentifiesKind(string tool, CompressionKind expected)
    {
        var compressed = TestPayloads.Compress("empty", tool);
        Assert.That(Decompressor.Detect(compressed.AsSpan(0, Math.Min(compressed.Length, Decompressor.HeaderLength))), Is.EqualTo(expected));
    }

    [TestCase(CompressionKind.Gzip, "gzip")]
    [TestCase(CompressionKind.Xz, "xz")]
    [TestCase(CompressionKind.None, "uncompressed")]
    public void DisplayName_Kind_IsToolName(CompressionKind kind, string expected) =>
        Assert.That(kind.DisplayName(), Is.EqualTo(expected));
}
