using System.Buffers.Binary;
using System.Text;
using Imageimportd.Compression;
using NUnit.Framework;

namespace Imageimportd.Tests.Compression;

[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class ChecksumTests
{
    private static readonly byte[] Check = Encoding.ASCII.GetBytes("123456789");

    [Test]
    public void Crc32_StandardCheckValue_Matches() =>
        Assert.That(Crc32.Compute(Check), Is.EqualTo(0xCBF43926u));

    [Test]
    public void Crc64_StandardCheckValue_Matches() =>
        Assert.That(Crc64.Compute(Check), Is.EqualTo(0x995DC9BBDF1939FAUL));

    [Test]
    public void Crc32_AppendInPieces_EqualsOneShot()
    {
        var data = TestPayloads.Random(1000, 1);
        var crc = Crc32.Append(Crc32.Append(Crc32.Append(0, data.AsSpan(0, 3)), data.AsSpan(3, 500)), data.AsSpan(503));
        Assert.That(crc, Is.EqualTo(Crc32.Compute(data)));
    }

    [Test]
    public void XxHash32_Empty_MatchesReference() =>
        Assert.That(XxHash32.Hash([]), Is.EqualTo(0x02CC5D05u));

    [Test]
    public void XxHash32_LengthsAroundStripes_MatchLz4ContentChecksum()
    {
        // lz4 ends a frame with the xxHash32 of its content: the reference implementation's answer.
        var data = TestPayloads.Random(100, 3);
        foreach (var length in new[] { 1, 3, 4, 15, 16, 17, 31, 33, 100 })
        {
            var frame = ExternalTool.Run("lz4", ["-c"], data[..length]);
            var expected = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(frame.Length - 4));
            Assert.That(XxHash32.Hash(data.AsSpan(0, length)), Is.EqualTo(expected), $"length {length}");
        }
    }

    [Test]
    public void XxHash32_AppendInPieces_EqualsOneShot()
    {
        var data = TestPayloads.Random(1000, 2);
        var hash = new XxHash32();
        hash.Append(data.AsSpan(0, 5));
        hash.Append(data.AsSpan(5, 20));
        hash.Append(data.AsSpan(25, 600));
        hash.Append(data.AsSpan(625));
        Assert.That(hash.GetCurrentHash(), Is.EqualTo(XxHash32.Hash(data)));
    }
}
