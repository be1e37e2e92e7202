using System.Buffers;
using Google.Protobuf;
using Imageimportd.Containerd;
using Imageimportd.Proto.Content;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

public sealed class PooledContentReadTests
{
    [Test]
    public void Parse_ResponseInSegments_DataCopiedWhole()
    {
        // Arrange
        var data = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 7)).ToArray();
        var wire = new ReadContentResponse { Offset = 1 << 20, Data = ByteString.CopyFrom(data) }.ToByteArray();

        // Act
        var chunk = PooledContentRead.Parse(Segmented(wire, 4096));

        // Assert
        Assert.That(chunk.Bytes.AsSpan(0, chunk.Length).ToArray(), Is.EqualTo(data));
        chunk.Return();
        Assert.That(chunk.Bytes, Is.Empty);
    }

    [Test]
    public void Parse_UnknownFieldsAround_Skipped()
    {
        // Arrange: field 9 (varint), field 10 (fixed64), field 11 (bytes), field 12 (fixed32), then the data.
        var wire = new byte[] { 9 << 3, 0x96, 0x01, (10 << 3) | 1, 1, 2, 3, 4, 5, 6, 7, 8, (11 << 3) | 2, 2, 0xAA, 0xBB, (12 << 3) | 5, 1, 2, 3, 4, (2 << 3) | 2, 3, 1, 2, 3 };

        // Act
        var chunk = PooledContentRead.Parse(new ReadOnlySequence<byte>(wire));

        // Assert
        Assert.That(chunk.Bytes.AsSpan(0, chunk.Length).ToArray(), Is.EqualTo(new byte[] { 1, 2, 3 }));
    }

    [Test]
    public void Parse_EmptyResponse_NoData()
    {
        var chunk = PooledContentRead.Parse(ReadOnlySequence<byte>.Empty);

        Assert.That(chunk.Length, Is.Zero);
    }

    [TestCase(new byte[] { (2 << 3) | 2, 5, 1, 2 }, TestName = "Parse_DataShorterThanItsLength_Refused")]
    [TestCase(new byte[] { 1 << 3, 0x80 }, TestName = "Parse_VarintCutShort_Refused")]
    [TestCase(new byte[] { (3 << 3) | 3 }, TestName = "Parse_GroupWireType_Refused")]
    [TestCase(new byte[] { (4 << 3) | 1, 1, 2 }, TestName = "Parse_Fixed64CutShort_Refused")]
    public void Parse_Malformed_Refused(byte[] wire)
    {
        Assert.Throws<InvalidDataException>(() => PooledContentRead.Parse(new ReadOnlySequence<byte>(wire)));
    }

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int size)
    {
        Segment? first = null;
        Segment? last = null;
        for (var i = 0; i < bytes.Length; i += size)
        {
            var segment = new Segment(bytes.AsMemory(i, Math.Min(size, bytes.Length - i)), i);
            first ??= segment;
            last?.Link(segment);
            last = segment;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public void Link(Segment next) => Next = next;
    }
}
