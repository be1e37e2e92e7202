using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Imageimportd.Compression;

/// <summary>
/// The LZMA decoder under LZMA2: a range decoder over one chunk of input that is already in memory, and a circular
/// dictionary that is also where the output comes from. The hot loop keeps all state in locals and works on arrays;
/// it stops at any output position (a match that does not fit is finished on the next call).
/// </summary>
internal sealed class LzmaDecoder
{
    /// <summary>The largest compressed LZMA2 chunk.</summary>
    public const int MaxChunkSize = 1 << 16;

    private const int InitialDictionary = 1 << 20;
    private const uint TopValue = 1u << 24;
    private const int ProbabilityBits = 11;
    private const int ProbabilityInit = 1 << (ProbabilityBits - 1);
    private const int MoveBits = 5;

    // The probabilities live in one array; these are the offsets of each model in it.
    private const int IsMatch = 0;                           // [state << 4 | posState]
    private const int IsRep = IsMatch + (12 << 4);           // [state]
    private const int IsRepG0 = IsRep + 12;
    private const int IsRepG1 = IsRepG0 + 12;
    private const int IsRepG2 = IsRepG1 + 12;
    private const int IsRep0Long = IsRepG2 + 12;             // [state << 4 | posState]
    private const int DistSlot = IsRep0Long + (12 << 4);     // [lenState << 6 | slot]
    private const int DistSpecial = DistSlot + (4 << 6);     // 114 reverse bit trees for slots 4..13
    private const int DistAlign = DistSpecial + 114;         // 16
    private const int MatchLength = DistAlign + 16;          // a length coder
    private const int RepLength = MatchLength + LengthCoderSize;
    private const int Literal = RepLength + LengthCoderSize; // 0x300 per literal coder, 1 << (lc + lp) coders
    private const int LengthCoderSize = 2 + (16 << 3) + (16 << 3) + 256;
    private const int LengthChoice2 = 1;
    private const int LengthLow = 2;
    private const int LengthMid = LengthLow + (16 << 3);
    private const int LengthHigh = LengthMid + (16 << 3);

    // A symbol reads at most ~50 bytes, so this much zeroed slack past a chunk lets the loop check for overrun
    // once per symbol instead of once per byte.
    private const int ChunkSlack = 64;

    private readonly ushort[] _probabilities = new ushort[Literal + (0x300 << 4)];
    private readonly byte[] _chunk = new byte[MaxChunkSize + ChunkSlack];
    private byte[] _dictionary = [];
    private int _capacity;
    private int _position;
    private int _full;
    private int _chunkLength;
    private int _inputPosition;
    private uint _range;
    private uint _code;
    private int _state;
    private uint _rep0;
    private uint _rep1;
    private uint _rep2;
    private uint _rep3;
    private int _pendingLength;
    private int _lc;
    private int _literalPositionMask;
    private int _positionMask;

    /// <summary>The dictionary, which holds the decoded output.</summary>
    public byte[] Dictionary => _dictionary;

    /// <summary>Where the next decoded byte goes in <see cref="Dictionary"/>.</summary>
    public int Position => _position;

    /// <summary>Room left before the end of the dictionary buffer (after <see cref="PrepareSpace"/>, at least one byte).</summary>
    public int SpaceToEnd => _dictionary.Length - _position;

    /// <summary>True when the current chunk was used up exactly, as the encoder's range coder flush leaves it.</summary>
    public bool ChunkEndedCleanly => _inputPosition == _chunkLength && _code == 0 && _pendingLength == 0;

    /// <summary>Sets the dictionary size for a new block. The buffer starts small and grows up to it, so small inputs stay small.</summary>
    public void Initialize(long dictionarySize)
    {
        // Rounded to 16 so that buffer positions agree with stream positions in their low bits (pb, lp <= 4).
        var capacity = Math.Min(Math.Max(dictionarySize, 4096), Array.MaxLength & ~15L);
        _capacity = (int)((capacity + 15) & ~15L);
        if (_dictionary.Length == 0)
        {
            _dictionary = new byte[Math.Min(_capacity, InitialDictionary)];
        }

        ResetDictionary();
    }

    public void ResetDictionary()
    {
        _position = 0;
        _full = 0;
    }

    public void SetProperties(int lc, int lp, int pb)
    {
        _lc = lc;
        _literalPositionMask = (1 << lp) - 1;
        _positionMask = (1 << pb) - 1;
    }

    public void ResetState()
    {
        Array.Fill(_probabilities, (ushort)ProbabilityInit);
        _state = 0;
        _rep0 = _rep1 = _rep2 = _rep3 = 0;
        _pendingLength = 0;
    }

    /// <summary>Takes a compressed chunk (copied, so the input buffer can move on) and starts its range decoder.</summary>
    public void StartChunk(ReadOnlySpan<byte> data)
    {
        if (data.Length < 5 || data[0] != 0)
        {
            throw Corrupt("bad range coder start");
        }

        data.CopyTo(_chunk);
        _chunk.AsSpan(data.Length, ChunkSlack).Clear();
        _chunkLength = data.Length;
        _code = BinaryPrimitives.ReadUInt32BigEndian(data[1..]);
        _range = uint.MaxValue;
        _inputPosition = 5;
    }

    /// <summary>Wraps or grows the buffer when it is full, so there is room to decode into.</summary>
    public void PrepareSpace()
    {
        if (_position < _dictionary.Length)
        {
            return;
        }

        if (_dictionary.Length < _capacity && _full == _position)
        {
            // Never wrapped yet: grow instead, keeping what is there.
            Array.Resize(ref _dictionary, (int)Math.Min(_capacity, 2L * _dictionary.Length));
        }
        else
        {
            _position = 0;
        }
    }

    /// <summary>Appends an uncompressed LZMA2 chunk's bytes (at most <see cref="SpaceToEnd"/>).</summary>
    public void AppendStored(ReadOnlySpan<byte> data)
    {
        data.CopyTo(_dictionary.AsSpan(_position));
        _position += data.Length;
        if (_full < _position)
        {
            _full = _position;
        }
    }

    /// <summary>Decodes until <see cref="Position"/> reaches <paramref name="limit"/> (at most the buffer's end).</summary>
    public void Decode(int limit)
    {
        var dict = _dictionary;
        var probs = _probabilities;
        var input = _chunk;
        var inputLimit = _chunkLength;
        var inPos = _inputPosition;
        var range = _range;
        var code = _code;
        var pos = _position;
        var state = _state;
        uint rep0 = _rep0, rep1 = _rep1, rep2 = _rep2, rep3 = _rep3;
        var lc = _lc;
        var literalPositionMask = _literalPositionMask;
        var positionMask = _positionMask;

        // Until the buffer wraps, the history is what has been written so far; after, it is the whole buffer.
        var wrapped = _full > _position;

        if (_pendingLength > 0)
        {
            var n = Math.Min(_pendingLength, limit - pos);
            pos = Repeat(dict, pos, rep0, n);
            _pendingLength -= n;
        }

        while (pos < limit)
        {
            if (inPos > inputLimit)
            {
                throw Corrupt("a chunk's range coder ran past its end");
            }

            var posState = pos & positionMask;
            if (Bit(probs, IsMatch + (state << 4) + posState, ref range, ref code, input, ref inPos) == 0)
            {
                int previous = pos > 0 ? dict[pos - 1] : wrapped ? dict[^1] : 0;
                var coder = Literal + (0x300 * (((pos & literalPositionMask) << lc) + (previous >> (8 - lc))));
                uint symbol = 1;
                if (state < 7)
                {
                    do
                    {
                        symbol = (symbol << 1) | Bit(probs, coder + (int)symbol, ref range, ref code, input, ref inPos);
                    }
                    while (symbol < 0x100);
                }
                else
                {
                    // After a match, the byte at rep0 steers the literal's model until the first differing bit.
                    var matchPosition = pos - (int)rep0 - 1;
                    if (matchPosition < 0)
                    {
                        matchPosition += dict.Length;
                    }

                    var matchByte = (uint)dict[matchPosition] << 1;
                    uint offset = 0x100;
                    do
                    {
                        var matchBit = matchByte & offset;
                        matchByte <<= 1;
                        var bit = Bit(probs, coder + (int)(offset + matchBit + symbol), ref range, ref code, input, ref inPos);
                        symbol = (symbol << 1) | bit;
                        offset &= bit != 0 ? matchBit : ~matchBit;
                    }
                    while (symbol < 0x100);
                }

                dict[pos++] = (byte)symbol;
                state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
                continue;
            }

            int length;
            if (Bit(probs, IsRep + state, ref range, ref code, input, ref inPos) == 0)
            {
                // A match with a new distance.
                state = state < 7 ? 7 : 10;
                rep3 = rep2;
                rep2 = rep1;
                rep1 = rep0;
                length = Length(probs, MatchLength, posState, ref range, ref code, input, ref inPos);
                var lengthState = length < 6 ? length - 2 : 3;
                var slot = BitTree(probs, DistSlot + (lengthState << 6), 6, ref range, ref code, input, ref inPos);
                if (slot < 4)
                {
                    rep0 = slot;
                }
                else
                {
                    var bits = (int)(slot >> 1) - 1;
                    var distance = (2 | (slot & 1)) << bits;
                    if (slot < 14)
                    {
                        distance += ReverseBitTree(probs, DistSpecial + (int)distance - (int)slot - 1, bits, ref range, ref code, input, ref inPos);
                    }
                    else
                    {
                        distance += DirectBits(bits - 4, ref range, ref code, input, ref inPos) << 4;
                        distance += ReverseBitTree(probs, DistAlign, 4, ref range, ref code, input, ref inPos);
                    }

                    rep0 = distance;
                }
            }
            else if (Bit(probs, IsRepG0 + state, ref range, ref code, input, ref inPos) == 0)
            {
                if (Bit(probs, IsRep0Long + (state << 4) + posState, ref range, ref code, input, ref inPos) == 0)
                {
                    // "Short rep": one byte from rep0.
                    state = state < 7 ? 9 : 11;
                    length = 1;
                }
                else
                {
                    state = state < 7 ? 8 : 11;
                    length = Length(probs, RepLength, posState, ref range, ref code, input, ref inPos);
                }
            }
            else
            {
                uint distance;
                if (Bit(probs, IsRepG1 + state, ref range, ref code, input, ref inPos) == 0)
                {
                    distance = rep1;
                }
                else
                {
                    if (Bit(probs, IsRepG2 + state, ref range, ref code, input, ref inPos) == 0)
                    {
                        distance = rep2;
                    }
                    else
                    {
                        distance = rep3;
                        rep3 = rep2;
                    }

                    rep2 = rep1;
                }

                rep1 = rep0;
                rep0 = distance;
                state = state < 7 ? 8 : 11;
                length = Length(probs, RepLength, posState, ref range, ref code, input, ref inPos);
            }

            // Also rejects the end-of-payload marker (distance 0xFFFFFFFF), which LZMA2 does not allow.
            if (rep0 >= (uint)(wrapped ? dict.Length : pos))
            {
                throw Corrupt("a match refers to data before the start of the dictionary");
            }

            var count = Math.Min(length, limit - pos);
            pos = Repeat(dict, pos, rep0, count);
            _pendingLength = length - count;
        }

        // Leave the range decoder normalized, as xz-embedded does: the encoder's flush ends a chunk so that a normalized
        // decoder has consumed exactly its bytes, which is what ChunkEndedCleanly checks.
        if (range < TopValue)
        {
            range <<= 8;
            code = (code << 8) | input[inPos++];
        }

        _inputPosition = inPos;
        _range = range;
        _code = code;
        _position = pos;
        if (_full < pos)
        {
            _full = pos;
        }

        _state = state;
        (_rep0, _rep1, _rep2, _rep3) = (rep0, rep1, rep2, rep3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Bit(ushort[] probs, int index, ref uint range, ref uint code, byte[] input, ref int inPos)
    {
        if (range < TopValue)
        {
            range <<= 8;
            code = (code << 8) | input[inPos++];
        }

        uint probability = probs[index];
        var bound = (range >> ProbabilityBits) * probability;
        if (code < bound)
        {
            range = bound;
            probs[index] = (ushort)(probability + (((1u << ProbabilityBits) - probability) >> MoveBits));
            return 0;
        }

        range -= bound;
        code -= bound;
        probs[index] = (ushort)(probability - (probability >> MoveBits));
        return 1;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint BitTree(ushort[] probs, int offset, int bits, ref uint range, ref uint code, byte[] input, ref int inPos)
    {
        uint symbol = 1;
        for (var i = 0; i < bits; i++)
        {
            symbol = (symbol << 1) | Bit(probs, offset + (int)symbol, ref range, ref code, input, ref inPos);
        }

        return symbol - (1u << bits);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint ReverseBitTree(ushort[] probs, int offset, int bits, ref uint range, ref uint code, byte[] input, ref int inPos)
    {
        uint symbol = 1;
        uint result = 0;
        for (var i = 0; i < bits; i++)
        {
            var bit = Bit(probs, offset + (int)symbol, ref range, ref code, input, ref inPos);
            symbol = (symbol << 1) | bit;
            result |= bit << i;
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint DirectBits(int bits, ref uint range, ref uint code, byte[] input, ref int inPos)
    {
        uint result = 0;
        do
        {
            if (range < TopValue)
            {
                range <<= 8;
                code = (code << 8) | input[inPos++];
            }

            range >>= 1;
            code -= range;
            var mask = 0u - (code >> 31);
            code += range & mask;
            result = (result << 1) + (mask + 1);
        }
        while (--bits > 0);

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Length(ushort[] probs, int coder, int posState, ref uint range, ref uint code, byte[] input, ref int inPos)
    {
        if (Bit(probs, coder, ref range, ref code, input, ref inPos) == 0)
        {
            return 2 + (int)BitTree(probs, coder + LengthLow + (posState << 3), 3, ref range, ref code, input, ref inPos);
        }

        if (Bit(probs, coder + LengthChoice2, ref range, ref code, input, ref inPos) == 0)
        {
            return 10 + (int)BitTree(probs, coder + LengthMid + (posState << 3), 3, ref range, ref code, input, ref inPos);
        }

        return 18 + (int)BitTree(probs, coder + LengthHigh, 8, ref range, ref code, input, ref inPos);
    }

    // Copies `count` bytes from `distance + 1` back (distance already checked), with LZ77 overlap semantics.
    private static int Repeat(byte[] dict, int pos, uint distance, int count)
    {
        var source = pos - (int)distance - 1;
        if (source < 0)
        {
            // The source is in the part of the ring before the wrap: copy up to the buffer's end, then from its start.
            source += dict.Length;
            var first = Math.Min(count, dict.Length - source);
            dict.AsSpan(source, first).CopyTo(dict.AsSpan(pos));
            pos += first;
            count -= first;
            source = 0;
            if (count == 0)
            {
                return pos;
            }
        }

        var gap = pos - source;
        if (gap >= count)
        {
            dict.AsSpan(source, count).CopyTo(dict.AsSpan(pos));
        }
        else if (gap == 1)
        {
            dict.AsSpan(pos, count).Fill(dict[source]);
        }
        else
        {
            // Overlap: the output repeats with period `gap`; each round copies everything written so far from `source`.
            var to = pos;
            var remaining = count;
            while (remaining > 0)
            {
                var n = Math.Min(to - source, remaining);
                dict.AsSpan(source, n).CopyTo(dict.AsSpan(to));
                to += n;
                remaining -= n;
            }
        }

        return pos + count;
    }

    private static InvalidDataException Corrupt(string what) => new($"xz: corrupt data ({what})");
}
