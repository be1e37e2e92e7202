using System.IO.Compression;
using Imageimportd.Compression;
using NUnit.Framework;

namespace Imageimportd.Tests.Compression;

/// <summary>The fallback used when the runtime's strict gzip validation cannot be turned on.</summary>
[TestFixture]
[Parallelizable(ParallelScope.All)]
public sealed class GzipEndCheckStreamTests
{
    [Test]
    public void GzipSupport_InThisProcess_IsStrict() =>
        Assert.That(GzipSupport.IsStrict, Is.True, "strict validation should have been switched on before any GZipStream was used");

    [Test]
    public void Read_SingleMember_Passes()
    {
        var compressed = TestPayloads.Compress("mixed", "gzip");

        Assert.That(ReadAll(compressed), Is.EqualTo(TestPayloads.Mixed));
    }

    [Test]
    public void Read_TwoMembers_RefusesWithExplanation()
    {
        byte[] compressed = [.. TestPayloads.Compress("mixed", "gzip"), .. TestPayloads.Compress("tar", "gzip")];

        Assert.That(() => ReadAll(compressed), Throws.InstanceOf<InvalidDataException>().With.Message.Contains(GzipSupport.StrictValidationSwitch));
    }

    [Test]
    public void Read_TooShortForATrailer_Refuses()
    {
        // A gzip header alone: even GZipStream in its lenient mode returns nothing, and there is no trailer to check.
        byte[] compressed = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3];

        Assert.That(() => ReadAll(compressed), Throws.InstanceOf<InvalidDataException>());
    }

    private static byte[] ReadAll(byte[] compressed)
    {
        using var input = new BufferedInput(new MemoryStream(compressed));
        using var stream = new GzipEndCheckStream(new GZipStream(input, CompressionMode.Decompress, leaveOpen: true), input);
        using var output = new MemoryStream();
        stream.CopyTo(output);
        return output.ToArray();
    }
}
