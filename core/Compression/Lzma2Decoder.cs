namespace Imageimportd.Compression;

/// <summary>
/// The LZMA2 layer of an xz block: a sequence of chunks, each either stored or LZMA-compressed (at most 64 KiB of
/// input and 2 MiB of output), with rules for when the dictionary, state and properties are reset.
/// A compressed chunk is only started once all of it is buffered, so <see cref="LzmaDecoder"/> never waits for input.
/// </summary>
internal sealed class Lzma2Decoder
{
    private readonly BufferedInput _input;
    private readonly LzmaDecoder _lzma = new();
    private ChunkKind _chunk;
    private int _remaining;
    private bool _needDictionaryReset;
    private bool _needProperties;

    public Lzma2Decoder(BufferedInput input) => _input = input;

    private enum ChunkKind
    {
        None,
        Stored,
        Lzma,
    }

    /// <summary>True once the end-of-data marker was read.</summary>
    public bool IsEnd { get; private set; }

    /// <summary>Compressed bytes consumed in this block, checked against the block header and index.</summary>
    public long CompressedBytes { get; private set; }

    public void Start(long dictionarySize)
    {
        _lzma.Initialize(dictionarySize);
        _chunk = ChunkKind.None;
        _remaining = 0;
        _needDictionaryReset = true;
        _needProperties = true;
        IsEnd = false;
        CompressedBytes = 0;
    }

    /// <summary>Decodes into <paramref name="destination"/>; returns fewer bytes than asked at the end or when input is needed.</summary>
    public int Decode(Span<byte> destination)
    {
        var written = 0;
        while (written < destination.Length && !IsEnd)
        {
            if (_chunk == ChunkKind.None)
            {
                if (!ReadChunkHeader())
                {
                    return written;
                }

                continue;
            }

            _lzma.PrepareSpace();
            var start = _lzma.Position;
            var n = Math.Min(Math.Min(_remaining, destination.Length - written), _lzma.SpaceToEnd);
            if (_chunk == ChunkKind.Stored)
            {
                if (!_input.Has(1))
                {
                    return written;
                }

                n = Math.Min(n, _input.Available);
                _lzma.AppendStored(_input.Data[..n]);
                _input.Consume(n);
                CompressedBytes += n;
            }
            else
            {
                _lzma.Decode(start + n);
            }

            _lzma.Dictionary.AsSpan(start, n).CopyTo(destination[written..]);
            written += n;
            _remaining -= n;
            if (_remaining == 0)
            {
                if (_chunk == ChunkKind.Lzma && !_lzma.ChunkEndedCleanly)
                {
                    throw new InvalidDataException("xz: corrupt data (an LZMA2 chunk does not end where its header says)");
                }

                _chunk = ChunkKind.None;
            }
        }

        return written;
    }

    private bool ReadChunkHeader()
    {
        if (!_input.Has(1))
        {
            return false;
        }

        var control = _input.Data[0];
        if (control == 0)
        {
            _input.Consume(1);
            CompressedBytes++;
            IsEnd = true;
            return true;
        }

        if (control is > 2 and < 0x80)
        {
            throw new InvalidDataException($"xz: corrupt data (invalid LZMA2 control byte 0x{control:X2})");
        }

        var headerLength = control < 0x80 ? 3 : control >= 0xC0 ? 6 : 5;
        if (!_input.Has(headerLength))
        {
            return false;
        }

        var header = _input.Data;
        var compressed = control < 0x80 ? 0 : ((header[3] << 8) | header[4]) + 1;
        if (!_input.Has(headerLength + compressed))
        {
            return false;
        }

        // Everything the chunk needs is buffered; only now change any state, so a retry after a refill starts clean.
        header = _input.Data;
        var dictionaryReset = control == 1 || control >= 0xE0;
        if (dictionaryReset)
        {
            _needDictionaryReset = false;
            _needProperties = true;
            _lzma.ResetDictionary();
        }
        else if (_needDictionaryReset)
        {
            throw new InvalidDataException("xz: corrupt data (LZMA2 data does not start with a dictionary reset)");
        }

        if (control < 0x80)
        {
            _remaining = ((header[1] << 8) | header[2]) + 1;
            _chunk = ChunkKind.Stored;
        }
        else
        {
            _remaining = ((control & 0x1F) << 16) + ((header[1] << 8) | header[2]) + 1;
            if (control >= 0xC0)
            {
                SetProperties(header[5]);
                _needProperties = false;
            }
            else if (_needProperties)
            {
                throw new InvalidDataException("xz: corrupt data (an LZMA2 chunk lacks the properties it needs)");
            }

            if (control >= 0xA0)
            {
                _lzma.ResetState();
            }

            _lzma.StartChunk(header.Slice(headerLength, compressed));
            _chunk = ChunkKind.Lzma;
        }

        _input.Consume(headerLength + compressed);
        CompressedBytes += headerLength + compressed;
        return true;
    }

    private void SetProperties(byte properties)
    {
        if (properties > ((4 * 5) + 4) * 9 + 8)
        {
            throw new InvalidDataException($"xz: corrupt data (invalid LZMA properties 0x{properties:X2})");
        }

        var lc = properties % 9;
        properties /= 9;
        var lp = properties % 5;
        var pb = properties / 5;
        if (lc + lp > 4)
        {
            throw new InvalidDataException("xz: corrupt data (LZMA2 allows lc + lp of at most 4)");
        }

        _lzma.SetProperties(lc, lp, pb);
    }
}
