using Imageimportd.Compression;
using NUnit.Framework;

namespace Imageimportd.Tests.Compression;

/// <summary>Bad input is an <see cref="InvalidDataException"/> naming the format and the cause, never a short read.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class DecompressorErrorTests
{
    private static readonly object[] Formats =
    [
        new object[] { "gzip", Array.Empty<string>() },
        new object[] { "zstd", Array.Empty<string>() },
        new object[] { "bzip2", Array.Empty<string>() },
        new object[] { "lz4", Array.Empty<string>() },
        new object[] { "lz4", new[] { "-l" } },
        new object[] { "lz4", new[] { "-BD", "-B4" } },
        new object[] { "xz", Array.Empty<string>() },
    ];

    // Cut points: just past the magic (6 bytes for xz), inside the header, in the middle, and short of the last byte.
    private static readonly double[] Cuts = [-7, -14, 0.5, -1];

    private static IEnumerable<TestCaseData> TruncationCases() =>
        from object[] format in Formats
        from cut in Cuts
        select new TestCaseData(format[0], format[1], cut)
            .SetArgDisplayNames((string)format[0], string.Join(' ', (string[])format[1]), cut.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [TestCaseSource(nameof(TruncationCases))]
    public async Task OpenAsync_TruncatedInput_ThrowsInvalidData(string tool, string[] arguments, double cut)
    {
        var compressed = TestPayloads.Compress("mixed", tool, arguments);
        var length = cut switch
        {
            -7 => 7,
            -14 => 14,
            -1 => compressed.Length - 1,
            _ => (int)(compressed.Length * cut),
        };
        if (arguments.Contains("-l") && cut == -1)
        {
            // The legacy format has no end mark; cut inside the last block instead of at its end.
            length = compressed.Length - 20;
        }

        var error = await Decoding.FailureAsync(compressed[..length]);

        Assert.That(error, Is.Not.Null, "a truncated stream must not decode");
        Assert.That(error!.Message, Does.StartWith(tool + ":"));
    }

    [TestCase("gzip")]
    [TestCase("zstd")]
    [TestCase("bzip2")]
    [TestCase("lz4")]
    [TestCase("xz")]
    public async Task OpenAsync_TruncatedInputSynchronousRead_SaysUnexpectedEnd(string tool)
    {
        var compressed = TestPayloads.Compress("tar", tool);

        var error = await Decoding.FailureAsync(compressed[..(compressed.Length / 2)], useAsync: false);

        Assert.That(error?.Message, Does.StartWith(tool + ": unexpected end of stream"));
    }

    private static IEnumerable<TestCaseData> GarbageCases() =>
        from tool in new[] { "gzip", "zstd", "bzip2", "lz4", "xz" }
        from seed in new[] { 1, 2, 3 }
        select new TestCaseData(tool, seed);

    [TestCaseSource(nameof(GarbageCases))]
    public async Task OpenAsync_GarbageInTheMiddle_ThrowsInvalidData(string tool, int seed)
    {
        var compressed = TestPayloads.Compress("mixed", tool).ToArray();
        var random = new Random(seed);
        var at = (compressed.Length / 4) + random.Next(compressed.Length / 2);
        TestPayloads.Random(64, seed).CopyTo(compressed, at);

        var error = await Decoding.FailureAsync(compressed);

        Assert.That(error, Is.Not.Null, "corrupt data must not decode");
        Assert.That(error!.Message, Does.StartWith(tool + ":"));
    }

    [TestCase("zstd")]
    [TestCase("bzip2")]
    [TestCase("lz4")]
    [TestCase("xz")]
    public async Task OpenAsync_GarbageAfterTheEnd_ThrowsInvalidData(string tool)
    {
        byte[] compressed = [.. TestPayloads.Compress("mixed", tool), .. "trailing garbage"u8];

        var error = await Decoding.FailureAsync(compressed);

        Assert.That(error?.Message, Does.StartWith(tool + ": unexpected data after the end"));
    }

    [Test]
    public async Task OpenAsync_GzipGarbageAfterTheEnd_IsIgnoredLikeGzipDoes()
    {
        // The runtime's gzip reader stops at data that is not another member, as gzip(1) does (with a warning).
        byte[] compressed = [.. TestPayloads.Compress("mixed", "gzip"), .. new byte[512]];

        var result = await Decoding.ReadAllAsync(compressed);

        Assert.That(TestPayloads.Sha256(result.Data), Is.EqualTo(TestPayloads.Sha256(TestPayloads.Mixed)));
    }

    [Test]
    public async Task OpenAsync_XzPaddingNotMultipleOfFour_ThrowsInvalidData()
    {
        byte[] compressed = [.. TestPayloads.Compress("mixed", "xz", "-0"), 0, 0, 0];

        var error = await Decoding.FailureAsync(compressed);

        Assert.That(error?.Message, Does.Contain("padding"));
    }

    [Test]
    public async Task OpenAsync_ZstdWindowBeyondLimit_ThrowsWithSizes()
    {
        // From a pipe, --long=31 keeps its 2 GiB window.
        var compressed = TestPayloads.Compress("mixed", "zstd", "-1", "--long=31");

        var error = await Decoding.FailureAsync(compressed);

        Assert.That(error?.Message, Is.EqualTo("zstd: frame window 2 GiB exceeds the 128 MiB limit"));
    }

    [Test]
    public async Task OpenAsync_ZstdLong27WithLowerLimit_ThrowsWithSizes()
    {
        var compressed = TestPayloads.Compress("mixed", "zstd", "-1", "--long=27");

        var error = await Decoding.FailureAsync(compressed, new DecompressionOptions { MaxWindowBytes = 64L << 20 });

        Assert.That(error?.Message, Is.EqualTo("zstd: frame window 128 MiB exceeds the 64 MiB limit"));
    }

    [Test]
    public async Task OpenAsync_XzDictionaryBeyondLimit_ThrowsWithSizes()
    {
        var compressed = TestPayloads.Compress("mixed", "xz", "-9");

        var error = await Decoding.FailureAsync(compressed, new DecompressionOptions { MaxWindowBytes = 32L << 20 });

        Assert.That(error?.Message, Is.EqualTo("xz: dictionary of 64 MiB exceeds the 32 MiB limit"));
    }

    [Test]
    public async Task OpenAsync_XzWithBcjFilter_NamesUnsupportedFilter()
    {
        var compressed = TestPayloads.Compress("mixed", "xz", "--x86", "--lzma2=preset=0");

        var error = await Decoding.FailureAsync(compressed);

        Assert.That(error?.Message, Does.StartWith("xz: unsupported filter x86 BCJ"));
    }

    [TestCase("gzip", 10)]
    [TestCase("zstd", 20)]
    [TestCase("xz", 40)]
    [TestCase("lz4", 30)]
    public async Task OpenAsync_FlippedBitInData_ThrowsInvalidData(string tool, int fromEnd)
    {
        // Near the end lies stored/compressed data whose only protection is the checksum.
        var compressed = TestPayloads.Compress("mixed", tool).ToArray();
        compressed[^fromEnd] ^= 0x10;

        var error = await Decoding.FailureAsync(compressed);

        Assert.That(error?.Message, Does.StartWith(tool + ":"));
    }
}
