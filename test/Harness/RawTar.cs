using System.Globalization;
using System.Text;

namespace Imageimportd.Tests.Harness;

/// <summary>
/// Writes tar headers byte by byte, for what no tar writer will produce: PAX records with arbitrary bytes as values
/// and hostile GNU sparse maps. <see cref="ToArray"/> ends the archive.
/// </summary>
public sealed class RawTar
{
    private readonly MemoryStream _stream = new();

    /// <summary>A PAX extended header ('x') with these records (values as bytes), applying to the next entry.</summary>
    public RawTar Pax(params (string Key, byte[] Value)[] records)
    {
        var body = new MemoryStream();
        foreach (var (key, value) in records)
        {
            var rest = 1 + Encoding.UTF8.GetByteCount(key) + 1 + value.Length + 1; // " key=value\n"
            var length = rest + 1;
            while (length.ToString(CultureInfo.InvariantCulture).Length + rest != length)
            {
                length++;
            }

            body.Write(Encoding.ASCII.GetBytes(length.ToString(CultureInfo.InvariantCulture) + " " + key + "="));
            body.Write(value);
            body.WriteByte((byte)'\n');
        }

        return Entry("PaxHeaders/x", (byte)'x', body.ToArray());
    }

    public RawTar Pax(params (string Key, string Value)[] records) =>
        Pax([.. records.Select(r => (r.Key, Encoding.UTF8.GetBytes(r.Value)))]);

    /// <summary>A USTAR entry: <see cref="Header"/>, then data padded to a block.</summary>
    public RawTar Entry(string name, byte type, byte[] data, long? sizeField = null)
    {
        _stream.Write(Header(name, type, sizeField ?? data.Length));
        _stream.Write(data);
        _stream.Write(new byte[(512 - (data.Length % 512)) % 512]);
        return this;
    }

    public RawTar File(string name, byte[] data) => Entry(name, (byte)'0', data);

    /// <summary>One USTAR header (mode 0644, owner 0:0, mtime 1600000000) whose size field says <paramref name="size"/>, whatever follows.</summary>
    public static byte[] Header(string name, byte type, long size)
    {
        var h = new byte[512];
        Encoding.UTF8.GetBytes(name).CopyTo(h, 0);
        Octal(h, 100, 8, 0x1A4);
        Octal(h, 108, 8, 0);
        Octal(h, 116, 8, 0);
        Octal(h, 124, 12, size);
        Octal(h, 136, 12, 1600000000);
        h[156] = type;
        "ustar\0"u8.CopyTo(h.AsSpan(257));
        "00"u8.CopyTo(h.AsSpan(263));
        h.AsSpan(148, 8).Fill((byte)' ');
        Octal(h, 148, 7, h.Sum(b => (long)b));
        return h;
    }

    public byte[] ToArray()
    {
        _stream.Write(new byte[1024]);
        return _stream.ToArray();
    }

    private static void Octal(byte[] h, int offset, int width, long value)
    {
        var text = Convert.ToString(value, 8).PadLeft(width - 1, '0');
        Encoding.ASCII.GetBytes(text).CopyTo(h, offset);
        h[offset + width - 1] = 0;
    }
}
