using System.Buffers.Binary;

namespace Imageimportd.Compression;

/// <summary>CRC-64 (ECMA-182, reflected), the default check of xz; slicing-by-8.</summary>
internal static class Crc64
{
    private static readonly ulong[] Table = BuildTable();

    /// <summary>Continues <paramref name="crc"/> (0 to start) over <paramref name="data"/>, like liblzma's lzma_crc64().</summary>
    public static ulong Append(ulong crc, ReadOnlySpan<byte> data)
    {
        var table = Table;
        var c = ~crc;
        while (data.Length >= 8)
        {
            var v = BinaryPrimitives.ReadUInt64LittleEndian(data) ^ c;
            c = table[(7 * 256) + (int)(v & 0xFF)] ^ table[(6 * 256) + (int)((v >> 8) & 0xFF)]
                ^ table[(5 * 256) + (int)((v >> 16) & 0xFF)] ^ table[(4 * 256) + (int)((v >> 24) & 0xFF)]
                ^ table[(3 * 256) + (int)((v >> 32) & 0xFF)] ^ table[(2 * 256) + (int)((v >> 40) & 0xFF)]
                ^ table[256 + (int)((v >> 48) & 0xFF)] ^ table[(int)(v >> 56)];
            data = data[8..];
        }

        foreach (var b in data)
        {
            c = table[(int)((c ^ b) & 0xFF)] ^ (c >> 8);
        }

        return ~c;
    }

    public static ulong Compute(ReadOnlySpan<byte> data) => Append(0, data);

    private static ulong[] BuildTable()
    {
        var table = new ulong[8 * 256];
        for (ulong i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xC96C5795D7870F42UL ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        for (var i = 256; i < table.Length; i++)
        {
            var previous = table[i - 256];
            table[i] = table[(int)(previous & 0xFF)] ^ (previous >> 8);
        }

        return table;
    }
}
