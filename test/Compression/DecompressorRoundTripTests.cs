using System.Buffers.Binary;
using Imageimportd.Compression;
using NUnit.Framework;

namespace Imageimportd.Tests.Compression;

/// <summary>Everything the real tools write decodes to the bytes they were given.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class DecompressorRoundTripTests
{
    private static readonly object[] Variants =
    [
        new object[] { "gzip", CompressionKind.Gzip, new[] { "-1" } },
        new object[] { "gzip", CompressionKind.Gzip, new[] { "-9" } },
        new object[] { "zstd", CompressionKind.Zstd, new[] { "-1" } },
        new object[] { "zstd", CompressionKind.Zstd, new[] { "-19" } },
        new object[] { "zstd", CompressionKind.Zstd, new[] { "-3", "--no-check" } },
        new object[] { "zstd", CompressionKind.Zstd, new[] { "-3", "--long=27" } },
        new object[] { "bzip2", CompressionKind.Bzip2, new[] { "-1" } },
        new object[] { "bzip2", CompressionKind.Bzip2, new[] { "-9" } },
        new object[] { "lz4", CompressionKind.Lz4, Array.Empty<string>() },
        new object[] { "lz4", CompressionKind.Lz4, new[] { "-9" } },
        new object[] { "lz4", CompressionKind.Lz4, new[] { "-l" } },
        new object[] { "lz4", CompressionKind.Lz4, new[] { "-BD" } },
        new object[] { "lz4", CompressionKind.Lz4, new[] { "-B4" } },
        new object[] { "lz4", CompressionKind.Lz4, new[] { "-B4", "-BD", "-9" } },
        new object[] { "lz4", CompressionKind.Lz4, new[] { "-B5", "-BX" } },
        new object[] { "lz4", CompressionKind.Lz4, new[] { "-B7", "--no-frame-crc" } },
        new object[] { "xz", CompressionKind.Xz, new[] { "-0" } },
        new object[] { "xz", CompressionKind.Xz, new[] { "-9" } },
        new object[] { "xz", CompressionKind.Xz, new[] { "-1", "--check=crc32" } },
        new object[] { "xz", CompressionKind.Xz, new[] { "-1", "--check=crc64" } },
        new object[] { "xz", CompressionKind.Xz, new[] { "-1", "--check=sha256" } },
        new object[] { "xz", CompressionKind.Xz, new[] { "-1", "--check=none" } },
        new object[] { "xz", CompressionKind.Xz, new[] { "-1", "-T2", "--block-size=200KiB" } },
        new object[] { "xz", CompressionKind.Xz, new[] { "--lzma2=preset=1,lc=0,lp=2,pb=0" } },
        new object[] { "xz", CompressionKind.Xz, new[] { "--lzma2=preset=2,lc=4,lp=0,pb=4,dict=4KiB" } },
    ];

    // The real tar goes through each tool's defaults and the lz4 variants that change the block layout; the mixed
    // payload goes through every variant (compressing is most of the run time, so not everything twice).
    private static readonly object[] TarVariants =
    [
        new object[] { "gzip", CompressionKind.Gzip, Array.Empty<string>() },
        new object[] { "zstd", CompressionKind.Zstd, Array.Empty<string>() },
        new object[] { "bzip2", CompressionKind.Bzip2, Array.Empty<string>() },
        new object[] { "lz4", CompressionKind.Lz4, Array.Empty<string>() },
        new object[] { "lz4", CompressionKind.Lz4, new[] { "-l" } },
        new object[] { "lz4", CompressionKind.Lz4, new[] { "-BD", "-B4" } },
        new object[] { "xz", CompressionKind.Xz, Array.Empty<string>() },
    ];

    private static IEnumerable<TestCaseData> Cases() =>
        (from object[] variant in Variants select Case("mixed", variant))
        .Concat(from object[] variant in TarVariants select Case("tar", variant));

    [TestCaseSource(nameof(Cases))]
    public async Task OpenAsync_RealToolOutput_DecodesToOriginal(string payload, string tool, CompressionKind kind, string[] arguments)
    {
        var compressed = TestPayloads.Compress(payload, tool, arguments);

        var result = await Decoding.ReadAllAsync(compressed);

        Assert.That(result.Kind, Is.EqualTo(kind));
        Assert.That(TestPayloads.Sha256(result.Data), Is.EqualTo(TestPayloads.Sha256(TestPayloads.Get(payload))));
        Assert.That(result.CompressedBytesRead, Is.EqualTo(compressed.Length));
    }

    [TestCase("gzip")]
    [TestCase("zstd")]
    [TestCase("bzip2")]
    [TestCase("lz4")]
    [TestCase("xz")]
    public async Task Read_SynchronousPath_DecodesToOriginal(string tool)
    {
        var result = await Decoding.ReadAllAsync(TestPayloads.Compress("tar", tool), useAsync: false);

        Assert.That(TestPayloads.Sha256(result.Data), Is.EqualTo(TestPayloads.Sha256(TestPayloads.Tar)));
    }

    [TestCase("gzip")]
    [TestCase("zstd")]
    [TestCase("bzip2")]
    [TestCase("lz4")]
    [TestCase("xz")]
    public async Task OpenAsync_EmptyPayload_DecodesToNothing(string tool)
    {
        var result = await Decoding.ReadAllAsync(TestPayloads.Compress("empty", tool));

        Assert.That(result.Data, Is.Empty);
    }

    [TestCase("gzip", new string[0])]
    [TestCase("zstd", new string[0])]
    [TestCase("bzip2", new string[0])]
    [TestCase("lz4", new string[0])]
    [TestCase("lz4", new[] { "-l" })]
    [TestCase("xz", new string[0])]
    public async Task OpenAsync_ConcatenatedStreams_DecodesAll(string tool, string[] arguments)
    {
        // What `cat a.gz b.gz > c.gz` makes, and what pigz/pbzip2/multi-frame writers produce.
        byte[] compressed = [.. TestPayloads.Compress("mixed", tool, arguments), .. TestPayloads.Compress("tar", tool, arguments), .. TestPayloads.Compress("mixed", tool, arguments)];

        var result = await Decoding.ReadAllAsync(compressed);

        Assert.That(TestPayloads.Sha256(result.Data), Is.EqualTo(TestPayloads.Sha256([.. TestPayloads.Mixed, .. TestPayloads.Tar, .. TestPayloads.Mixed])));
    }

    [Test]
    public async Task OpenAsync_Lz4FrameAfterLegacyStream_DecodesBoth()
    {
        byte[] compressed = [.. TestPayloads.Compress("mixed", "lz4", "-l"), .. TestPayloads.Compress("tar", "lz4")];

        var result = await Decoding.ReadAllAsync(compressed);

        Assert.That(TestPayloads.Sha256(result.Data), Is.EqualTo(TestPayloads.Sha256([.. TestPayloads.Mixed, .. TestPayloads.Tar])));
    }

    [Test]
    public async Task OpenAsync_Lz4WithContentSize_DecodesToOriginal()
    {
        var compressed = TestPayloads.CompressFile("tar", "lz4", "--content-size");
        Assert.That(compressed[4] & 0x08, Is.Not.Zero, "lz4 should have written the content size");

        var result = await Decoding.ReadAllAsync(compressed);

        Assert.That(TestPayloads.Sha256(result.Data), Is.EqualTo(TestPayloads.Sha256(TestPayloads.Tar)));
    }

    [TestCase("zstd", CompressionKind.Zstd)]
    [TestCase("lz4", CompressionKind.Lz4)]
    public async Task OpenAsync_SkippableFramesFirstBetweenAndLast_AreSkipped(string tool, CompressionKind kind)
    {
        byte[] compressed =
        [
            .. Skippable(0x184D2A50, 100), .. Skippable(0x184D2A5F, 0), .. TestPayloads.Compress("mixed", tool),
            .. Skippable(0x184D2A53, 5000), .. TestPayloads.Compress("tar", tool), .. Skippable(0x184D2A5E, 12),
        ];

        var result = await Decoding.ReadAllAsync(compressed);

        Assert.That(result.Kind, Is.EqualTo(kind));
        Assert.That(TestPayloads.Sha256(result.Data), Is.EqualTo(TestPayloads.Sha256([.. TestPayloads.Mixed, .. TestPayloads.Tar])));
    }

    [Test]
    public async Task OpenAsync_OnlySkippableFrames_IsEmptyZstd()
    {
        var result = await Decoding.ReadAllAsync([.. Skippable(0x184D2A50, 10), .. Skippable(0x184D2A51, 3)]);

        Assert.That(result.Kind, Is.EqualTo(CompressionKind.Zstd));
        Assert.That(result.Data, Is.Empty);
    }

    [Test]
    public async Task OpenAsync_XzStreamPadding_IsAccepted()
    {
        var stream = TestPayloads.Compress("mixed", "xz", "-0");
        byte[] compressed = [.. stream, .. new byte[8], .. stream, .. new byte[4]];

        var result = await Decoding.ReadAllAsync(compressed);

        Assert.That(TestPayloads.Sha256(result.Data), Is.EqualTo(TestPayloads.Sha256([.. TestPayloads.Mixed, .. TestPayloads.Mixed])));
    }

    [Test]
    public async Task OpenAsync_ZstdLong27FromPipe_DecodesWithDefaultLimit()
    {
        // From a pipe zstd cannot shrink the window to the input size, so the frame really asks for 128 MiB.
        var compressed = TestPayloads.Compress("mixed", "zstd", "-1", "--long=27");

        var result = await Decoding.ReadAllAsync(compressed);

        Assert.That(TestPayloads.Sha256(result.Data), Is.EqualTo(TestPayloads.Sha256(TestPayloads.Mixed)));
    }

    [Test]
    public async Task OpenAsync_TgzThatIsNotGzip_IsNoneAndPassesThrough()
    {
        var path = Path.Combine(Path.GetTempPath(), $"imageimportd-{Guid.NewGuid():N}.tgz");
        await File.WriteAllBytesAsync(path, TestPayloads.Tar);
        try
        {
            await using var stream = await Decompressor.OpenAsync(File.OpenRead(path), DecompressionOptions.Default, CancellationToken.None);
            using var output = new MemoryStream();
            await stream.CopyToAsync(output);

            Assert.That(stream.Kind, Is.EqualTo(CompressionKind.None));
            Assert.That(output.ToArray(), Is.EqualTo(TestPayloads.Tar));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestCase(0)]
    [TestCase(3)]
    [TestCase(9)]
    public async Task OpenAsync_ShortUncompressedInput_PassesThrough(int length)
    {
        var data = TestPayloads.Random(length, 5);

        var result = await Decoding.ReadAllAsync(data);

        Assert.That(result.Kind, Is.EqualTo(CompressionKind.None));
        Assert.That(result.Data, Is.EqualTo(data));
    }

    private static TestCaseData Case(string payload, object[] variant) =>
        new TestCaseData(payload, variant[0], variant[1], variant[2])
            .SetArgDisplayNames(payload, (string)variant[0], string.Join(' ', (string[])variant[2]));

    private static byte[] Skippable(uint magic, int size)
    {
        var frame = new byte[8 + size];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, magic);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(4), (uint)size);
        frame.AsSpan(8).Fill(0xAB);
        return frame;
    }
}
