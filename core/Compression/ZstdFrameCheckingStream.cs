using System.Buffers.Binary;

namespace Imageimportd.Compression;

/// <summary>
/// Hands the input to ZstdSharp's decoder while following the frame structure (headers, block headers, skippable
/// frames) without decoding. That is cheap, and it lets a frame whose window is over the limit be refused with its
/// actual size before the decoder allocates anything, and an input that stops mid-frame be reported as truncated.
/// Kept after trying ZstdSharp alone (its windowLogMax limit and end-of-stream check): it still refuses and detects
/// truncation, but cannot say the window's size ("frame window exceeds the 64 MiB limit"), and garbage after the
/// last frame reads as "unknown frame magic" instead of "unexpected data after the end".
/// </summary>
internal sealed class ZstdFrameCheckingStream : ReadOnlyStream
{
    private const uint FrameMagic = 0xFD2FB528;
    private const uint SkippableMagic = 0x184D2A50;
    private const uint SkippableMagicMask = 0xFFFFFFF0;

    private readonly BufferedInput _input;
    private readonly long _maxWindow;
    private readonly byte[] _field = new byte[13];
    private Part _part = Part.Magic;
    private int _fieldLength;
    private int _fieldNeeded = 4;
    private long _skip;
    private bool _hasChecksum;
    private bool _lastBlock;
    private byte _descriptor;
    private bool _firstFrame = true;

    public ZstdFrameCheckingStream(BufferedInput input, long maxWindow)
    {
        _input = input;
        _maxWindow = maxWindow;
    }

    private enum Part
    {
        Magic,
        SkippableSize,
        FrameDescriptor,
        FrameHeaderRest,
        BlockHeader,
        Checksum,

        // Parts that are skipped over rather than parsed.
        BlockBody,
        SkippableBody,
    }

    public override int Read(Span<byte> buffer)
    {
        var n = _input.Read(buffer);
        Follow(buffer[..n], buffer.Length);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await _input.ReadAsync(buffer, cancellationToken);
        Follow(buffer.Span[..n], buffer.Length);
        return n;
    }

    private void Follow(ReadOnlySpan<byte> data, int requested)
    {
        if (data.IsEmpty)
        {
            if (requested > 0 && (_part != Part.Magic || _fieldLength != 0))
            {
                throw _input.Truncated();
            }

            return;
        }

        while (!data.IsEmpty)
        {
            if (_part >= Part.BlockBody)
            {
                var n = (int)Math.Min(_skip, data.Length);
                _skip -= n;
                data = data[n..];
                if (_skip == 0)
                {
                    AfterBody();
                }

                continue;
            }

            var take = Math.Min(_fieldNeeded - _fieldLength, data.Length);
            data[..take].CopyTo(_field.AsSpan(_fieldLength));
            _fieldLength += take;
            data = data[take..];
            if (_fieldLength == _fieldNeeded)
            {
                CompleteField();
            }
        }
    }

    private void Expect(Part part, int length)
    {
        _part = part;
        _fieldLength = 0;
        _fieldNeeded = length;
    }

    private void Skip(Part part, long length)
    {
        _part = part;
        _skip = length;
        if (length == 0)
        {
            AfterBody();
        }
    }

    private void AfterBody()
    {
        if (_part == Part.SkippableBody || !_lastBlock)
        {
            Expect(_part == Part.SkippableBody ? Part.Magic : Part.BlockHeader, _part == Part.SkippableBody ? 4 : 3);
        }
        else if (_hasChecksum)
        {
            Expect(Part.Checksum, 4);
        }
        else
        {
            Expect(Part.Magic, 4);
        }
    }

    private void CompleteField()
    {
        var field = _field.AsSpan(0, _fieldLength);
        switch (_part)
        {
            case Part.Magic:
                var magic = BinaryPrimitives.ReadUInt32LittleEndian(field);
                if (magic == FrameMagic)
                {
                    Expect(Part.FrameDescriptor, 1);
                }
                else if ((magic & SkippableMagicMask) == SkippableMagic)
                {
                    Expect(Part.SkippableSize, 4);
                }
                else
                {
                    throw new InvalidDataException(_firstFrame
                        ? $"zstd: unknown frame magic 0x{magic:X8}"
                        : $"zstd: unexpected data after the end of a frame (magic 0x{magic:X8})");
                }

                _firstFrame = false;
                break;
            case Part.SkippableSize:
                Skip(Part.SkippableBody, BinaryPrimitives.ReadUInt32LittleEndian(field));
                break;
            case Part.FrameDescriptor:
                var descriptor = field[0];
                if ((descriptor & 0x08) != 0)
                {
                    throw new InvalidDataException("zstd: corrupt frame header (reserved bit set)");
                }

                var singleSegment = (descriptor & 0x20) != 0;
                _hasChecksum = (descriptor & 0x04) != 0;
                _descriptor = descriptor;

                // What follows the descriptor: window byte, dictionary id, content size (every frame has at least one byte).
                Expect(Part.FrameHeaderRest, (singleSegment ? 0 : 1) + DictionaryIdLength(descriptor) + ContentSizeLength(descriptor));
                break;
            case Part.FrameHeaderRest:
                CheckFrameHeader(_descriptor, field);
                Expect(Part.BlockHeader, 3);
                break;
            case Part.BlockHeader:
                var header = field[0] | (field[1] << 8) | (field[2] << 16);
                var type = (header >> 1) & 3;
                if (type == 3)
                {
                    throw new InvalidDataException("zstd: corrupt data (reserved block type)");
                }

                _lastBlock = (header & 1) != 0;

                // An RLE block stores one byte whatever its size says.
                Skip(Part.BlockBody, type == 1 ? 1 : header >> 3);
                break;
            case Part.Checksum:
                Expect(Part.Magic, 4);
                break;
        }
    }

    private static int DictionaryIdLength(byte descriptor) => (descriptor & 3) switch
    {
        0 => 0,
        1 => 1,
        2 => 2,
        _ => 4,
    };

    private static int ContentSizeLength(byte descriptor) => (descriptor >> 6) switch
    {
        0 => (descriptor & 0x20) != 0 ? 1 : 0,
        1 => 2,
        2 => 4,
        _ => 8,
    };

    private void CheckFrameHeader(byte descriptor, ReadOnlySpan<byte> rest)
    {
        var singleSegment = (descriptor & 0x20) != 0;
        long window = 0;
        var at = 0;
        if (!singleSegment)
        {
            var exponent = rest[0] >> 3;
            var mantissa = rest[0] & 7;
            var windowBase = 1L << (10 + exponent);
            window = windowBase + ((windowBase / 8) * mantissa);
            at = 1;
        }

        var dictionaryIdBytes = DictionaryIdLength(descriptor);
        var dictionaryId = 0u;
        for (var i = 0; i < dictionaryIdBytes; i++)
        {
            dictionaryId |= (uint)rest[at + i] << (8 * i);
        }

        at += dictionaryIdBytes;
        if (singleSegment)
        {
            // A single-segment frame's window is its content size.
            var contentSize = rest[at..];
            window = contentSize.Length switch
            {
                1 => contentSize[0],
                2 => BinaryPrimitives.ReadUInt16LittleEndian(contentSize) + 256,
                4 => BinaryPrimitives.ReadUInt32LittleEndian(contentSize),
                _ => (long)Math.Min(BinaryPrimitives.ReadUInt64LittleEndian(contentSize), long.MaxValue),
            };
        }

        if (window > _maxWindow)
        {
            throw new InvalidDataException(
                $"zstd: frame window {ByteSizeText.Format(window)} exceeds the {ByteSizeText.Format(_maxWindow)} limit");
        }

        if (dictionaryId != 0)
        {
            throw new InvalidDataException($"zstd: frames that need a dictionary (id {dictionaryId}) are not supported");
        }
    }
}
