using System.Buffers.Binary;
using System.Numerics;

namespace Imageimportd.Compression;

/// <summary>
/// Streaming xxHash32, the checksum of the lz4 frame format (header, blocks, content). Written here rather than taken
/// from System.IO.Hashing, a package this project does not otherwise need.
/// </summary>
internal sealed class XxHash32
{
    private const uint Prime1 = 2654435761u;
    private const uint Prime2 = 2246822519u;
    private const uint Prime3 = 3266489917u;
    private const uint Prime4 = 668265263u;
    private const uint Prime5 = 374761393u;

    private readonly byte[] _pending = new byte[16];
    private uint _seed;
    private uint _v1;
    private uint _v2;
    private uint _v3;
    private uint _v4;
    private int _pendingLength;
    private long _length;

    public XxHash32() => Reset(0);

    public static uint Hash(ReadOnlySpan<byte> data, uint seed = 0)
    {
        var hash = new XxHash32();
        hash.Reset(seed);
        hash.Append(data);
        return hash.GetCurrentHash();
    }

    public void Reset(uint seed)
    {
        _seed = seed;
        _v1 = seed + Prime1 + Prime2;
        _v2 = seed + Prime2;
        _v3 = seed;
        _v4 = seed - Prime1;
        _pendingLength = 0;
        _length = 0;
    }

    public void Append(ReadOnlySpan<byte> data)
    {
        _length += data.Length;
        if (_pendingLength > 0)
        {
            var take = Math.Min(16 - _pendingLength, data.Length);
            data[..take].CopyTo(_pending.AsSpan(_pendingLength));
            _pendingLength += take;
            data = data[take..];
            if (_pendingLength < 16)
            {
                return;
            }

            Stripe(_pending);
            _pendingLength = 0;
        }

        uint v1 = _v1, v2 = _v2, v3 = _v3, v4 = _v4;
        while (data.Length >= 16)
        {
            v1 = Round(v1, BinaryPrimitives.ReadUInt32LittleEndian(data));
            v2 = Round(v2, BinaryPrimitives.ReadUInt32LittleEndian(data[4..]));
            v3 = Round(v3, BinaryPrimitives.ReadUInt32LittleEndian(data[8..]));
            v4 = Round(v4, BinaryPrimitives.ReadUInt32LittleEndian(data[12..]));
            data = data[16..];
        }

        (_v1, _v2, _v3, _v4) = (v1, v2, v3, v4);
        data.CopyTo(_pending);
        _pendingLength = data.Length;
    }

    public uint GetCurrentHash()
    {
        var h = _length >= 16
            ? BitOperations.RotateLeft(_v1, 1) + BitOperations.RotateLeft(_v2, 7) + BitOperations.RotateLeft(_v3, 12) + BitOperations.RotateLeft(_v4, 18)
            : _seed + Prime5;
        h += (uint)_length;
        ReadOnlySpan<byte> rest = _pending.AsSpan(0, _pendingLength);
        while (rest.Length >= 4)
        {
            h += BinaryPrimitives.ReadUInt32LittleEndian(rest) * Prime3;
            h = BitOperations.RotateLeft(h, 17) * Prime4;
            rest = rest[4..];
        }

        foreach (var b in rest)
        {
            h += b * Prime5;
            h = BitOperations.RotateLeft(h, 11) * Prime1;
        }

        h ^= h >> 15;
        h *= Prime2;
        h ^= h >> 13;
        h *= Prime3;
        h ^= h >> 16;
        return h;
    }

    private static uint Round(uint acc, uint lane) => BitOperations.RotateLeft(acc + (lane * Prime2), 13) * Prime1;

    private void Stripe(ReadOnlySpan<byte> data)
    {
        _v1 = Round(_v1, BinaryPrimitives.ReadUInt32LittleEndian(data));
        _v2 = Round(_v2, BinaryPrimitives.ReadUInt32LittleEndian(data[4..]));
        _v3 = Round(_v3, BinaryPrimitives.ReadUInt32LittleEndian(data[8..]));
        _v4 = Round(_v4, BinaryPrimitives.ReadUInt32LittleEndian(data[12..]));
    }
}
