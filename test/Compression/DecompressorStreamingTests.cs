using Imageimportd.Compression;
using NUnit.Framework;

namespace Imageimportd.Tests.Compression;

/// <summary>Decoding streams: input is read as output is asked for, never all at once, and the stream owns its input.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class DecompressorStreamingTests
{
    private const int IncompressibleSize = 4 << 20;

    private static readonly Lazy<byte[]> Incompressible = new(() => TestPayloads.Random(IncompressibleSize, 99));

    [TestCase("gzip", "-1")]
    [TestCase("zstd", "-1")]
    [TestCase("bzip2", "-1")]
    [TestCase("lz4", "-B6")]
    [TestCase("xz", "-0")]
    public async Task ReadAsync_FirstMegabyte_ReadsOnlyPartOfTheInput(string tool, string option)
    {
        var compressed = ExternalTool.Run(tool, [option, "-c"], Incompressible.Value);
        var input = new TrackingStream(compressed);
        await using var stream = await Decompressor.OpenAsync(input, DecompressionOptions.Default, CancellationToken.None);

        var buffer = new byte[1 << 20];
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total));
            Assert.That(n, Is.Positive);
            total += n;
        }

        // Bounded by the largest block a format buffers (1 MiB for lz4 -B6, 1 MiB of read-ahead for bzip2), not by the input.
        Assert.That(input.BytesRead, Is.LessThan(2.5 * (1 << 20)));
        Assert.That(stream.CompressedBytesRead, Is.EqualTo(input.BytesRead));
        Assert.That(buffer, Is.EqualTo(Incompressible.Value[..buffer.Length]));

        // And the rest still arrives, up to the whole input.
        using var rest = new MemoryStream();
        await stream.CopyToAsync(rest);
        Assert.That(total + rest.Length, Is.EqualTo(IncompressibleSize));
        Assert.That(stream.CompressedBytesRead, Is.EqualTo(compressed.Length));
    }

    [TestCase("gzip")]
    [TestCase("xz")]
    [TestCase("lz4")]
    public async Task Dispose_DecompressedStream_DisposesInput(string tool)
    {
        var input = new TrackingStream(TestPayloads.Compress("mixed", tool));
        var stream = await Decompressor.OpenAsync(input, DecompressionOptions.Default, CancellationToken.None);

        await stream.DisposeAsync();

        Assert.That(input.IsDisposed, Is.True);
        Assert.That(stream.CanRead, Is.False);
        Assert.ThrowsAsync<ObjectDisposedException>(async () => await stream.ReadExactlyAsync(new byte[10]));
    }

    [Test]
    public void OpenAsync_CanceledToken_ThrowsAndDisposesInput()
    {
        var input = new TrackingStream(TestPayloads.Compress("mixed", "zstd"));
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        Assert.That(
            async () => await Decompressor.OpenAsync(input, DecompressionOptions.Default, cancellation.Token),
            Throws.InstanceOf<OperationCanceledException>());
        Assert.That(input.IsDisposed, Is.True);
    }

    [Test]
    public async Task ReadByte_Xz_ReturnsBytesThenMinusOne()
    {
        var compressed = ExternalTool.Run("xz", ["-c"], "abc"u8.ToArray());
        await using var stream = await Decompressor.OpenAsync(new MemoryStream(compressed), DecompressionOptions.Default, CancellationToken.None);

        Assert.That(new[] { stream.ReadByte(), stream.ReadByte(), stream.ReadByte(), stream.ReadByte() }, Is.EqualTo(new[] { 'a', 'b', 'c', -1 }));
    }

    [Test]
    public async Task Stream_Capabilities_AreReadOnlyForwardOnly()
    {
        await using var stream = await Decompressor.OpenAsync(new MemoryStream(TestPayloads.Compress("mixed", "gzip")), DecompressionOptions.Default, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(stream.CanRead, Is.True);
            Assert.That(stream.CanSeek, Is.False);
            Assert.That(stream.CanWrite, Is.False);
            Assert.That(() => stream.Length, Throws.InstanceOf<NotSupportedException>());
            Assert.That(() => stream.Seek(0, SeekOrigin.Begin), Throws.InstanceOf<NotSupportedException>());
            Assert.That(() => stream.Write([1], 0, 1), Throws.InstanceOf<NotSupportedException>());
        });
    }

    [Test]
    public void OpenAsync_WindowLimitBelowOneKiB_Throws() =>
        Assert.That(
            async () => await Decompressor.OpenAsync(new MemoryStream([1]), new DecompressionOptions { MaxWindowBytes = 10 }, CancellationToken.None),
            Throws.InstanceOf<ArgumentOutOfRangeException>());
}
