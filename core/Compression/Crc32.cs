using System.Buffers.Binary;

namespace Imageimportd.Compression;

/// <summary>
/// CRC-32 (IEEE 802.3, as in gzip and xz), slicing-by-8. The BCL's implementation lives in the System.IO.Hashing
/// package, which this project does not take for one checksum.
/// </summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>Continues <paramref name="crc"/> (0 to start) over <paramref name="data"/>, like zlib's crc32().</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var table = Table;
        var c = ~crc;
        while (data.Length >= 8)
        {
            var one = BinaryPrimitives.ReadUInt32LittleEndian(data) ^ c;
            var two = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
            c = table[(7 * 256) + (one & 0xFF)] ^ table[(6 * 256) + ((one >> 8) & 0xFF)]
                ^ table[(5 * 256) + ((one >> 16) & 0xFF)] ^ table[(4 * 256) + (one >> 24)]
                ^ table[(3 * 256) + (two & 0xFF)] ^ table[(2 * 256) + ((two >> 8) & 0xFF)]
                ^ table[256 + ((two >> 16) & 0xFF)] ^ table[two >> 24];
            data = data[8..];
        }

        foreach (var b in data)
        {
            c = table[(c ^ b) & 0xFF] ^ (c >> 8);
        }

        return ~c;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    private static uint[] BuildTable()
    {
        var table = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        for (var i = 256; i < table.Length; i++)
        {
            var previous = table[i - 256];
            table[i] = table[previous & 0xFF] ^ (previous >> 8);
        }

        return table;
    }
}
