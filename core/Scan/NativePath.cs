using System.Text;

namespace Imageimportd.Scan;

/// <summary>
/// File names are bytes to the kernel, strings to .NET. A name that is not valid UTF-8 keeps its bytes here as
/// lone surrogates U+DC80–U+DCFF (one per invalid byte, as Python's <c>surrogateescape</c> does), so it can be
/// listed, queued and opened again; .NET's own decoding would turn them into U+FFFD and lose the file.
/// </summary>
public static class NativePath
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The bytes to hand the kernel for <paramref name="path"/>, NUL-terminated.</summary>
    public static byte[] Encode(string path)
    {
        var bytes = new List<byte>(path.Length + 1);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c is >= '\uDC80' and <= '\uDCFF' && (i == 0 || !char.IsHighSurrogate(path[i - 1])))
            {
                bytes.Add((byte)(c - 0xDC00));
                continue;
            }

            int n;
            if (char.IsHighSurrogate(c) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1]))
            {
                n = new Rune(c, path[i + 1]).EncodeToUtf8(utf8);
                i++;
            }
            else
            {
                n = Rune.TryCreate(c, out var rune) ? rune.EncodeToUtf8(utf8) : Rune.ReplacementChar.EncodeToUtf8(utf8);
            }

            for (var k = 0; k < n; k++)
            {
                bytes.Add(utf8[k]);
            }
        }

        bytes.Add(0);
        return [.. bytes];
    }

    /// <summary>A name read from the kernel: valid UTF-8 decodes as usual, each invalid byte becomes U+DC80+byte.</summary>
    public static string Decode(ReadOnlySpan<byte> name)
    {
        try
        {
            return Strict.GetString(name);
        }
        catch (DecoderFallbackException)
        {
            var sb = new StringBuilder(name.Length);
            while (!name.IsEmpty)
            {
                if (Rune.DecodeFromUtf8(name, out var rune, out var consumed) == System.Buffers.OperationStatus.Done)
                {
                    sb.Append(rune.ToString());
                }
                else
                {
                    for (var k = 0; k < consumed; k++)
                    {
                        sb.Append((char)(0xDC00 + name[k]));
                    }
                }

                name = name[consumed..];
            }

            return sb.ToString();
        }
    }

    /// <summary>The length of <see cref="Encode"/>'s result without its NUL, without building it.</summary>
    public static int ByteCount(string path)
    {
        var count = 0;
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (char.IsHighSurrogate(c) && i + 1 < path.Length && char.IsLowSurrogate(path[i + 1]))
            {
                count += 4;
                i++;
            }
            else
            {
                count += c switch
                {
                    < '\u0080' => 1,
                    < '\u0800' => 2,
                    >= '\uDC80' and <= '\uDCFF' => 1,
                    _ => 3,
                };
            }
        }

        return count;
    }

    /// <summary>True when <paramref name="path"/> carries bytes that are not UTF-8 (see <see cref="Decode"/>).</summary>
    public static bool HasRawBytes(string path)
    {
        for (var i = 0; i < path.Length; i++)
        {
            if (char.IsLowSurrogate(path[i]) && (i == 0 || !char.IsHighSurrogate(path[i - 1])))
            {
                return true;
            }
        }

        return false;
    }
}
