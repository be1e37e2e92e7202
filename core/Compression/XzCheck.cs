using System.Buffers.Binary;
using System.IO.Hashing;
using System.Security.Cryptography;

namespace Imageimportd.Compression;

/// <summary>The integrity check of an xz block: none, CRC32, CRC64 or SHA-256, over the block's uncompressed data.</summary>
internal sealed class XzCheck : IDisposable
{
    private IncrementalHash? _sha256;
    private int _type;
    private readonly Crc32 _crc32 = new();
    private readonly Crc64 _crc64 = new(XzCrc64.Parameters);

    /// <summary>Size of the stored check for a supported type, or -1 for types xz defines but this decoder does not know.</summary>
    public static int SizeOf(int type) => type switch
    {
        0 => 0,
        1 => 4,
        4 => 8,
        10 => 32,
        _ => -1,
    };

    public static string NameOf(int type) => type switch
    {
        0 => "none",
        1 => "CRC32",
        4 => "CRC64",
        10 => "SHA-256",
        _ => $"check type {type}",
    };

    public void Reset(int type)
    {
        _type = type;
        _crc32.Reset();
        _crc64.Reset();
        if (type == 10)
        {
            _sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        }
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        switch (_type)
        {
            case 1:
                _crc32.Append(data);
                break;
            case 4:
                _crc64.Append(data);
                break;
            case 10:
                _sha256!.AppendData(data);
                break;
        }
    }

    /// <summary>Compares with the stored check (and resets the SHA-256 state for the next block).</summary>
    public bool Matches(ReadOnlySpan<byte> stored)
    {
        switch (_type)
        {
            case 1:
                return BinaryPrimitives.ReadUInt32LittleEndian(stored) == _crc32.GetCurrentHashAsUInt32();
            case 4:
                return BinaryPrimitives.ReadUInt64LittleEndian(stored) == _crc64.GetCurrentHashAsUInt64();
            case 10:
                Span<byte> hash = stackalloc byte[32];
                _sha256!.GetHashAndReset(hash);
                return hash.SequenceEqual(stored);
            default:
                return true;
        }
    }

    public void Dispose() => _sha256?.Dispose();
}
