using Imageimportd.Import;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class ByteRingTests
{
    [Test]
    public async Task Reader_GetsEveryByteInOrder_WhenWritesWrapAroundASmallBuffer()
    {
        // Arrange: 1 MiB through a 4 KiB ring, in writes of odd sizes, so every position of the wrap is crossed.
        var data = new byte[1 << 20];
        new Random(7).NextBytes(data);
        var ring = new ByteRing(new byte[4096]);

        // Act
        var write = Task.Run(async () =>
        {
            for (var at = 0; at < data.Length;)
            {
                var n = Math.Min(data.Length - at, 1 + (at % 7919));
                Assert.That(await ring.WriteAsync(data.AsMemory(at, n), CancellationToken.None), Is.True);
                at += n;
            }

            ring.Complete();
        });
        var read = new MemoryStream();
        await using (ring.Reader)
        {
            var buffer = new byte[1000];
            int n;
            while ((n = await ring.Reader.ReadAsync(buffer)) > 0)
            {
                read.Write(buffer, 0, n);
            }
        }

        await write;

        // Assert
        Assert.That(read.ToArray(), Is.EqualTo(data));
    }

    [Test]
    public async Task WriteAsync_ReaderGone_ReturnsFalseInsteadOfWaitingForRoom()
    {
        // Arrange: a full ring, and a writer waiting for room.
        var ring = new ByteRing(new byte[1024]);
        Assert.That(await ring.WriteAsync(new byte[1024], CancellationToken.None), Is.True);
        var waiting = ring.WriteAsync(new byte[600], CancellationToken.None).AsTask();
        Assert.That(waiting.IsCompleted, Is.False);

        // Act
        await ring.Reader.DisposeAsync();

        // Assert: the waiting write is released, and later writes copy nothing.
        Assert.That(await waiting.WaitAsync(TimeSpan.FromSeconds(10)), Is.False);
        Assert.That(await ring.WriteAsync(new byte[10], CancellationToken.None), Is.False);
    }

    [Test]
    public async Task Reader_WriterCompletedWithFault_ReadsTheBytesBeforeItThenThrows()
    {
        // Arrange
        var ring = new ByteRing(new byte[1024]);
        await ring.WriteAsync("abc"u8.ToArray(), CancellationToken.None);
        ring.Complete(new InvalidDataException("archive truncated"));
        var buffer = new byte[16];

        // Act
        var n = await ring.Reader.ReadAsync(buffer);

        // Assert
        Assert.That(buffer[..n], Is.EqualTo("abc"u8.ToArray()));
        var ex = Assert.ThrowsAsync<IOException>(async () => await ring.Reader.ReadAtLeastAsync(buffer, 1));
        Assert.That(ex!.InnerException, Is.TypeOf<InvalidDataException>());
    }

    [Test]
    public void Reader_WaitingForBytes_StopsWhenCancelled()
    {
        // Arrange
        var ring = new ByteRing(new byte[1024]);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        // Act + Assert
        Assert.That(async () => await ring.Reader.ReadAtLeastAsync(new byte[16], 1, cancellationToken: cancel.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task Reader_Segments_EachEndsWhereItsWriterEndedItAndNextSegmentSkipsWhatWasNotRead()
    {
        // Arrange: three segments; the reader reads the first whole, one byte of the second, and all of the third.
        var ring = new ByteRing(new byte[64]);
        await ring.WriteAsync("first"u8.ToArray(), CancellationToken.None);
        ring.EndSegment();
        await ring.WriteAsync("second"u8.ToArray(), CancellationToken.None);
        ring.EndSegment();
        await ring.WriteAsync("third"u8.ToArray(), CancellationToken.None);
        ring.Complete();

        // Act
        var first = await ReadToEndAsync(ring.Reader);
        var moved = await ring.NextSegmentAsync(CancellationToken.None);
        var oneByte = new byte[1];
        await ring.Reader.ReadExactlyAsync(oneByte);
        var skipped = await ring.NextSegmentAsync(CancellationToken.None);
        var third = await ReadToEndAsync(ring.Reader);
        var past = await ring.NextSegmentAsync(CancellationToken.None);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(first, Is.EqualTo("first"u8.ToArray()));
            Assert.That(moved && skipped, Is.True);
            Assert.That(oneByte, Is.EqualTo("s"u8.ToArray()));
            Assert.That(third, Is.EqualTo("third"u8.ToArray()));
            Assert.That(past, Is.False);
        }
    }

    [Test]
    public async Task NextSegmentAsync_SegmentNotEndedYet_WaitsForItsEnd()
    {
        // Arrange
        var ring = new ByteRing(new byte[64]);
        await ring.WriteAsync("partial"u8.ToArray(), CancellationToken.None);

        // Act
        var next = ring.NextSegmentAsync(CancellationToken.None).AsTask();
        var waited = !next.IsCompleted;
        await ring.WriteAsync("more"u8.ToArray(), CancellationToken.None);
        ring.EndSegment();
        await ring.WriteAsync("after"u8.ToArray(), CancellationToken.None);
        ring.Complete();

        // Assert
        Assert.That(waited, Is.True);
        Assert.That(await next.WaitAsync(TimeSpan.FromSeconds(10)), Is.True);
        Assert.That(await ReadToEndAsync(ring.Reader), Is.EqualTo("after"u8.ToArray()));
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }
}
