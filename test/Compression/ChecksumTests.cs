using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;
using Imageimportd.Compression;
using NUnit.Framework;

namespace Imageimportd.Tests.Compression;

/// <summary>The checksums come from System.IO.Hashing; these pin the variants the formats need.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class ChecksumTests
{
    private static readonly byte[] Check = Encoding.ASCII.GetBytes("123456789");

    [Test]
    public void Crc32_StandardCheckValue_Matches() =>
        Assert.That(Crc32.HashToUInt32(Check), Is.EqualTo(0xCBF43926u));

    [Test]
    public void XzCrc64_StandardCheckValue_Matches() =>
        Assert.That(Crc64.HashToUInt64(XzCrc64.Parameters, Check), Is.EqualTo(0x995DC9BBDF1939FAUL));

    [Test]
    public void XzCrc64_AppendInPieces_EqualsOneShot()
    {
        var data = TestPayloads.Random(1000, 1);
        var crc = new Crc64(XzCrc64.Parameters);
        crc.Append(data.AsSpan(0, 3));
        crc.Append(data.AsSpan(3, 500));
        crc.Append(data.AsSpan(503));
        Assert.That(crc.GetCurrentHashAsUInt64(), Is.EqualTo(Crc64.HashToUInt64(XzCrc64.Parameters, data)));
    }

    [Test]
    public void XxHash32_LengthsAroundStripes_MatchLz4ContentChecksum()
    {
        // lz4 ends a frame with the xxHash32 of its content: the reference implementation's answer.
        var data = TestPayloads.Random(100, 3);
        foreach (var length in new[] { 1, 3, 4, 15, 16, 17, 31, 33, 100 })
        {
            var frame = ExternalTool.Run("lz4", ["-c"], data[..length]);
            var expected = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(frame.Length - 4));
            Assert.That(XxHash32.HashToUInt32(data.AsSpan(0, length)), Is.EqualTo(expected), $"length {length}");
        }
    }
}
