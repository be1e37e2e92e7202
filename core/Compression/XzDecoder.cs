using System.Buffers.Binary;
using System.IO.Hashing;

namespace Imageimportd.Compression;

/// <summary>
/// Decodes the .xz container: streams (with padding between them), blocks with the LZMA2 filter and their checks,
/// the index (checked against the blocks actually read) and the footer. Other filters (BCJ, delta) are refused by name.
/// Ours rather than SharpCompress's XZStream: that one measured slower here, returns only the first of concatenated
/// streams (what <c>xz -T</c> and <c>cat a.xz b.xz</c> write), and has no cap on the dictionary a header may ask for.
/// </summary>
internal sealed class XzDecoder : IChunkDecoder
{
    private const int StreamHeaderSize = 12;
    private const int MaxVliLength = 9;
    private const byte Lzma2FilterId = 0x21;

    private static ReadOnlySpan<byte> HeaderMagic => [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00];

    private readonly BufferedInput _input;
    private readonly long _maxDictionary;
    private readonly Lzma2Decoder _lzma2;
    private readonly XzCheck _check = new();
    private State _state = State.StreamHeader;
    private bool _firstStream = true;
    private ushort _streamFlags;
    private int _checkType;
    private int _checkSize;

    // The block being decoded.
    private int _blockHeaderSize;
    private long _declaredCompressed;
    private long _declaredUncompressed;
    private long _uncompressed;

    // What the index must describe: a count and a running CRC over (unpadded size, uncompressed size) records,
    // computed once from the blocks read and once from the index, so memory stays constant however many blocks there are.
    private long _blockCount;
    private readonly Crc64 _blockRecords = new();
    private long _indexRemaining;
    private readonly Crc64 _indexRecords = new();
    private readonly Crc32 _indexCrc = new();
    private long _indexSize;
    private long _pendingUnpadded = -1;
    private long _padding;

    public XzDecoder(BufferedInput input, long maxDictionary)
    {
        _input = input;
        _maxDictionary = maxDictionary;
        _lzma2 = new Lzma2Decoder(input);
    }

    private enum State
    {
        StreamHeader,
        BlockStart,
        BlockData,
        BlockPadding,
        BlockCheck,
        IndexCount,
        IndexRecords,
        IndexPadding,
        IndexCrc,
        StreamFooter,
        StreamPadding,
        Finished,
    }

    public bool IsFinished => _state == State.Finished;

    public int Decode(Span<byte> destination)
    {
        var written = 0;
        while (written < destination.Length)
        {
            switch (_state)
            {
                case State.StreamHeader:
                    if (!ReadStreamHeader())
                    {
                        return written;
                    }

                    break;
                case State.BlockStart:
                    if (!ReadBlockHeader())
                    {
                        return written;
                    }

                    break;
                case State.BlockData:
                    var space = destination.Length - written;
                    var n = _lzma2.Decode(destination.Slice(written, space));
                    if (n > 0)
                    {
                        _check.Append(destination.Slice(written, n));
                        written += n;
                        _uncompressed += n;
                        if (_declaredUncompressed >= 0 && _uncompressed > _declaredUncompressed)
                        {
                            throw Corrupt("a block holds more data than its header says");
                        }
                    }

                    if (_lzma2.IsEnd)
                    {
                        EndBlockData();
                    }
                    else if (n < space)
                    {
                        return written;
                    }

                    break;
                case State.BlockPadding:
                    var padding = (int)((4 - (_lzma2.CompressedBytes & 3)) & 3);
                    if (!ReadZeros(padding, "block padding"))
                    {
                        return written;
                    }

                    _state = State.BlockCheck;
                    break;
                case State.BlockCheck:
                    if (!ReadBlockCheck())
                    {
                        return written;
                    }

                    break;
                case State.IndexCount:
                case State.IndexRecords:
                    if (!ReadIndexRecords())
                    {
                        return written;
                    }

                    break;
                case State.IndexPadding:
                    if (!ReadZeros((int)((4 - (_indexSize & 3)) & 3), "index padding"))
                    {
                        return written;
                    }

                    _state = State.IndexCrc;
                    break;
                case State.IndexCrc:
                    if (!ReadIndexCrc())
                    {
                        return written;
                    }

                    break;
                case State.StreamFooter:
                    if (!ReadStreamFooter())
                    {
                        return written;
                    }

                    break;
                case State.StreamPadding:
                    if (!ReadStreamPadding())
                    {
                        return written;
                    }

                    break;
                case State.Finished:
                    return written;
            }
        }

        return written;
    }

    public void Dispose() => _check.Dispose();

    private bool ReadStreamHeader()
    {
        if (!_input.Has(StreamHeaderSize))
        {
            return false;
        }

        var header = _input.Data[..StreamHeaderSize];
        if (!header.StartsWith(HeaderMagic))
        {
            throw _firstStream
                ? Corrupt("bad stream header magic")
                : new InvalidDataException("xz: unexpected data after the end of a stream");
        }

        if (Crc32.HashToUInt32(header.Slice(6, 2)) != BinaryPrimitives.ReadUInt32LittleEndian(header[8..]))
        {
            throw Corrupt("stream header checksum mismatch");
        }

        if (header[6] != 0 || (header[7] & 0xF0) != 0)
        {
            throw new InvalidDataException("xz: unsupported stream flags (written by a newer xz?)");
        }

        _checkType = header[7] & 0x0F;
        _checkSize = XzCheck.SizeOf(_checkType);
        if (_checkSize < 0)
        {
            throw new InvalidDataException($"xz: unsupported {XzCheck.NameOf(_checkType)}");
        }

        _streamFlags = BinaryPrimitives.ReadUInt16LittleEndian(header[6..]);
        _input.Consume(StreamHeaderSize);
        _firstStream = false;
        _blockCount = 0;
        _blockRecords.Reset();
        _state = State.BlockStart;
        return true;
    }

    private bool ReadBlockHeader()
    {
        if (!_input.Has(1))
        {
            return false;
        }

        if (_input.Data[0] == 0)
        {
            // The index indicator: no more blocks in this stream.
            _input.Consume(1);
            _indexCrc.Reset();
            _indexCrc.Append([0]);
            _indexSize = 1;
            _indexRecords.Reset();
            _pendingUnpadded = -1;
            _state = State.IndexCount;
            return true;
        }

        var size = (_input.Data[0] + 1) * 4;
        if (!_input.Has(size))
        {
            return false;
        }

        var header = _input.Data[..size];
        if (Crc32.HashToUInt32(header[..^4]) != BinaryPrimitives.ReadUInt32LittleEndian(header[^4..]))
        {
            throw Corrupt("block header checksum mismatch");
        }

        var fields = header[..^4];
        var flags = fields[1];
        if ((flags & 0x3C) != 0)
        {
            throw new InvalidDataException("xz: unsupported block flags (written by a newer xz?)");
        }

        var at = 2;
        _declaredCompressed = (flags & 0x40) != 0 ? ReadVli(fields, ref at) : -1;
        _declaredUncompressed = (flags & 0x80) != 0 ? ReadVli(fields, ref at) : -1;
        var filters = (flags & 3) + 1;
        long dictionary = -1;
        for (var i = 0; i < filters; i++)
        {
            var id = ReadVli(fields, ref at);
            var propertiesSize = ReadVli(fields, ref at);
            if (propertiesSize > fields.Length - at)
            {
                throw Corrupt("filter properties run past the block header");
            }

            if (id != Lzma2FilterId || i != filters - 1)
            {
                throw new InvalidDataException($"xz: unsupported filter {FilterName(id)}; only LZMA2 is supported");
            }

            if (propertiesSize != 1)
            {
                throw Corrupt("LZMA2 filter properties are not one byte");
            }

            dictionary = DictionarySize(fields[at]);
            at++;
        }

        if (fields[at..].ContainsAnyExcept((byte)0))
        {
            throw Corrupt("non-zero block header padding");
        }

        if (dictionary > _maxDictionary)
        {
            throw new InvalidDataException(
                $"xz: dictionary of {ByteSizeText.Format(dictionary)} exceeds the {ByteSizeText.Format(_maxDictionary)} limit");
        }

        _input.Consume(size);
        _blockHeaderSize = size;
        _uncompressed = 0;
        _check.Reset(_checkType);
        _lzma2.Start(dictionary);
        _state = State.BlockData;
        return true;
    }

    private void EndBlockData()
    {
        if (_declaredCompressed >= 0 && _declaredCompressed != _lzma2.CompressedBytes)
        {
            throw Corrupt("a block's compressed size differs from its header");
        }

        if (_declaredUncompressed >= 0 && _declaredUncompressed != _uncompressed)
        {
            throw Corrupt("a block's uncompressed size differs from its header");
        }

        _state = State.BlockPadding;
    }

    private bool ReadBlockCheck()
    {
        if (!_input.Has(_checkSize))
        {
            return false;
        }

        if (!_check.Matches(_input.Data[.._checkSize]))
        {
            throw new InvalidDataException($"xz: {XzCheck.NameOf(_checkType)} mismatch (corrupt data)");
        }

        _input.Consume(_checkSize);
        var unpadded = _blockHeaderSize + _lzma2.CompressedBytes + _checkSize;
        AppendRecord(_blockRecords, unpadded, _uncompressed);
        _blockCount++;
        _state = State.BlockStart;
        return true;
    }

    private bool ReadIndexRecords()
    {
        while (_state == State.IndexCount || _indexRemaining > 0)
        {
            // Every field of a valid index is followed by at least the CRC and the footer, so asking for a whole
            // VLI's worth never asks past the end of a good stream.
            if (!_input.Has(MaxVliLength))
            {
                return false;
            }

            var at = 0;
            var value = ReadVli(_input.Data[..MaxVliLength], ref at);
            _indexCrc.Append(_input.Data[..at]);
            _indexSize += at;
            _input.Consume(at);
            if (_state == State.IndexCount)
            {
                if (value != _blockCount)
                {
                    throw Corrupt($"the index lists {value} blocks but the stream has {_blockCount}");
                }

                _indexRemaining = value;
                _state = State.IndexRecords;
            }
            else if (_pendingUnpadded < 0)
            {
                _pendingUnpadded = value;
            }
            else
            {
                AppendRecord(_indexRecords, _pendingUnpadded, value);
                _pendingUnpadded = -1;
                _indexRemaining--;
            }
        }

        if (_indexRecords.GetCurrentHashAsUInt64() != _blockRecords.GetCurrentHashAsUInt64())
        {
            throw Corrupt("the index does not match the blocks");
        }

        _state = State.IndexPadding;
        return true;
    }

    private bool ReadIndexCrc()
    {
        if (!_input.Has(4))
        {
            return false;
        }

        if (_input.PeekUInt32(0) != _indexCrc.GetCurrentHashAsUInt32())
        {
            throw Corrupt("index checksum mismatch");
        }

        _input.Consume(4);
        _indexSize += 4;
        _state = State.StreamFooter;
        return true;
    }

    private bool ReadStreamFooter()
    {
        if (!_input.Has(StreamHeaderSize))
        {
            return false;
        }

        var footer = _input.Data[..StreamHeaderSize];
        if (footer[10] != (byte)'Y' || footer[11] != (byte)'Z')
        {
            throw Corrupt("bad stream footer magic");
        }

        if (Crc32.HashToUInt32(footer.Slice(4, 6)) != BinaryPrimitives.ReadUInt32LittleEndian(footer))
        {
            throw Corrupt("stream footer checksum mismatch");
        }

        if (((BinaryPrimitives.ReadUInt32LittleEndian(footer[4..]) + 1L) * 4) != _indexSize)
        {
            throw Corrupt("the stream footer gives the wrong index size");
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(footer[8..]) != _streamFlags)
        {
            throw Corrupt("stream footer flags differ from the header");
        }

        _input.Consume(StreamHeaderSize);
        _padding = 0;
        _state = State.StreamPadding;
        return true;
    }

    // Between and after streams there may be zero bytes, in multiples of four; then another stream or the end.
    private bool ReadStreamPadding()
    {
        if (_input.IsExhausted)
        {
            if ((_padding & 3) != 0)
            {
                throw Corrupt("stream padding is not a multiple of four bytes");
            }

            _state = State.Finished;
            return true;
        }

        if (!_input.Has(1))
        {
            return false;
        }

        var data = _input.Data;
        var zeros = data.IndexOfAnyExcept((byte)0);
        if (zeros < 0)
        {
            _padding += data.Length;
            _input.Consume(data.Length);
            return true;
        }

        _padding += zeros;
        _input.Consume(zeros);
        if ((_padding & 3) != 0)
        {
            throw Corrupt("stream padding is not a multiple of four bytes");
        }

        _state = State.StreamHeader;
        return true;
    }

    private bool ReadZeros(int count, string what)
    {
        if (!_input.Has(count))
        {
            return false;
        }

        if (_input.Data[..count].ContainsAnyExcept((byte)0))
        {
            throw Corrupt($"non-zero {what}");
        }

        if (_state == State.IndexPadding)
        {
            _indexCrc.Append(_input.Data[..count]);
            _indexSize += count;
        }

        _input.Consume(count);
        return true;
    }

    // Blocks and index records are compared by a CRC-64 of each side's (unpadded, uncompressed) pairs, as liblzma does.
    private static void AppendRecord(Crc64 hash, long unpadded, long uncompressed)
    {
        Span<byte> record = stackalloc byte[16];
        BinaryPrimitives.WriteInt64LittleEndian(record, unpadded);
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], uncompressed);
        hash.Append(record);
    }

    // xz's variable-length integers: 7 bits a byte, low first, at most 9 bytes, no superfluous zero byte at the end.
    private static long ReadVli(ReadOnlySpan<byte> data, ref int at)
    {
        long value = 0;
        for (var i = 0; i < MaxVliLength; i++)
        {
            if (at >= data.Length)
            {
                throw Corrupt("a size field runs past its header");
            }

            var b = data[at++];
            value |= (long)(b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0)
            {
                if (b == 0 && i > 0)
                {
                    throw Corrupt("a size field is not minimally encoded");
                }

                return value;
            }
        }

        throw Corrupt("a size field is too long");
    }

    private static long DictionarySize(byte bits)
    {
        if (bits > 40)
        {
            throw Corrupt("invalid LZMA2 dictionary size");
        }

        return bits == 40 ? uint.MaxValue : (2L | (bits & 1L)) << ((bits / 2) + 11);
    }

    private static string FilterName(long id) => id switch
    {
        0x03 => "delta (0x03)",
        0x04 => "x86 BCJ (0x04)",
        0x05 => "PowerPC BCJ (0x05)",
        0x06 => "IA-64 BCJ (0x06)",
        0x07 => "ARM BCJ (0x07)",
        0x08 => "ARM-Thumb BCJ (0x08)",
        0x09 => "SPARC BCJ (0x09)",
        0x0A => "ARM64 BCJ (0x0A)",
        0x0B => "RISC-V BCJ (0x0B)",
        0x21 => "LZMA2 (0x21) before another filter",
        _ => $"0x{id:X}",
    };

    private static InvalidDataException Corrupt(string what) => new($"xz: corrupt data ({what})");
}
