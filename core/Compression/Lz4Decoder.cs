using System.Buffers.Binary;
using System.IO.Hashing;

namespace Imageimportd.Compression;

/// <summary>
/// Decodes the LZ4 frame format as the <c>lz4</c> tool writes it (independent or dependent blocks, optional block and
/// content checksums, content size, skippable frames, concatenated frames) and the legacy format of <c>lz4 -l</c>.
/// Memory is bounded by the block size: one block of input and one of output (plus 64 KiB of history).
/// </summary>
internal sealed class Lz4Decoder : IChunkDecoder
{
    private const uint FrameMagic = 0x184D2204;
    private const uint LegacyMagic = 0x184C2102;
    private const uint SkippableMagicMask = 0xFFFFFFF0;
    private const uint SkippableMagic = 0x184D2A50;
    private const int LegacyBlockSize = 8 << 20;

    // LZ4_COMPRESSBOUND(8 MiB): a legacy block size above it is really the magic number of the next frame.
    private const int LegacyMaxCompressed = LegacyBlockSize + (LegacyBlockSize / 255) + 16;

    // Dependent blocks may refer to the last 64 KiB of earlier blocks, kept at the front of the window.
    private const int HistorySize = 64 << 10;

    private readonly BufferedInput _input;
    private readonly XxHash32 _contentHash = new();
    private State _state = State.FrameStart;
    private State _afterDrain;
    private byte[] _window = [];
    private int _outStart;
    private int _outEnd;
    private int _historyLength;
    private int _blockMax;
    private bool _blockIndependent;
    private bool _blockChecksum;
    private bool _contentChecksum;
    private long _contentSize;
    private long _produced;
    private long _skipRemaining;
    private bool _firstFrame = true;

    public Lz4Decoder(BufferedInput input) => _input = input;

    private enum State
    {
        FrameStart,
        SkipFrame,
        FrameDescriptor,
        BlockHeader,
        ContentChecksum,
        LegacyBlock,
        Drain,
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
                case State.Drain:
                    var n = Math.Min(_outEnd - _outStart, destination.Length - written);
                    _window.AsSpan(_outStart, n).CopyTo(destination[written..]);
                    _outStart += n;
                    written += n;
                    if (_outStart == _outEnd)
                    {
                        if (_afterDrain == State.BlockHeader && !_blockIndependent)
                        {
                            KeepHistory();
                        }

                        _state = _afterDrain;
                    }

                    break;
                case State.FrameStart:
                    if (_input.IsExhausted && !_firstFrame)
                    {
                        _state = State.Finished;
                        return written;
                    }

                    if (!_input.Has(4) || !StartFrame())
                    {
                        return written;
                    }

                    break;
                case State.SkipFrame:
                    if (_skipRemaining == 0)
                    {
                        _state = State.FrameStart;
                        break;
                    }

                    if (!_input.Has(1))
                    {
                        return written;
                    }

                    var skip = (int)Math.Min(_skipRemaining, _input.Available);
                    _input.Consume(skip);
                    _skipRemaining -= skip;
                    break;
                case State.FrameDescriptor:
                    if (!ReadFrameDescriptor())
                    {
                        return written;
                    }

                    break;
                case State.BlockHeader:
                    if (!ReadBlock())
                    {
                        return written;
                    }

                    break;
                case State.ContentChecksum:
                    if (!_input.Has(4))
                    {
                        return written;
                    }

                    if (_input.PeekUInt32(0) != _contentHash.GetCurrentHashAsUInt32())
                    {
                        throw new InvalidDataException("lz4: content checksum mismatch (corrupt data)");
                    }

                    _input.Consume(4);
                    EndFrame();
                    break;
                case State.LegacyBlock:
                    if (!ReadLegacyBlock())
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

    public void Dispose()
    {
    }

    private bool StartFrame()
    {
        var magic = _input.PeekUInt32(0);
        if (magic == FrameMagic)
        {
            _input.Consume(4);
            _state = State.FrameDescriptor;
        }
        else if (magic == LegacyMagic)
        {
            _input.Consume(4);
            EnsureWindow(LegacyBlockSize);
            _blockIndependent = true;
            _contentChecksum = false;
            _contentSize = -1;
            _state = State.LegacyBlock;
        }
        else if ((magic & SkippableMagicMask) == SkippableMagic)
        {
            if (!_input.Has(8))
            {
                return false;
            }

            _skipRemaining = _input.PeekUInt32(4);
            _input.Consume(8);
            _state = State.SkipFrame;
        }
        else
        {
            throw new InvalidDataException(_firstFrame
                ? $"lz4: unknown frame magic 0x{magic:X8}"
                : $"lz4: unexpected data after the end of a frame (magic 0x{magic:X8})");
        }

        _firstFrame = false;
        return true;
    }

    private bool ReadFrameDescriptor()
    {
        if (!_input.Has(2))
        {
            return false;
        }

        var flags = _input.Data[0];
        var blockDescriptor = _input.Data[1];
        if (flags >> 6 != 1)
        {
            throw new InvalidDataException($"lz4: unsupported frame version {flags >> 6}");
        }

        if ((flags & 0x02) != 0 || (blockDescriptor & 0x8F) != 0)
        {
            throw new InvalidDataException("lz4: corrupt frame header (reserved bits set)");
        }

        var hasContentSize = (flags & 0x08) != 0;
        var hasDictionaryId = (flags & 0x01) != 0;
        var length = 2 + (hasContentSize ? 8 : 0) + (hasDictionaryId ? 4 : 0) + 1;
        if (!_input.Has(length))
        {
            return false;
        }

        var descriptor = _input.Data[..length];
        if (((XxHash32.HashToUInt32(descriptor[..^1]) >> 8) & 0xFF) != descriptor[^1])
        {
            throw new InvalidDataException("lz4: frame header checksum mismatch (corrupt data)");
        }

        if (hasDictionaryId)
        {
            throw new InvalidDataException("lz4: frames that need a dictionary are not supported");
        }

        var sizeId = (blockDescriptor >> 4) & 7;
        if (sizeId < 4)
        {
            throw new InvalidDataException($"lz4: corrupt frame header (block size id {sizeId})");
        }

        _blockMax = 1 << (8 + (2 * sizeId));
        _blockIndependent = (flags & 0x20) != 0;
        _blockChecksum = (flags & 0x10) != 0;
        _contentChecksum = (flags & 0x04) != 0;
        _contentSize = hasContentSize ? (long)BinaryPrimitives.ReadUInt64LittleEndian(descriptor[2..]) : -1;
        _produced = 0;
        _historyLength = 0;
        _contentHash.Reset();
        EnsureWindow(HistorySize + _blockMax);
        _input.Consume(length);
        _state = State.BlockHeader;
        return true;
    }

    private bool ReadBlock()
    {
        if (!_input.Has(4))
        {
            return false;
        }

        var header = _input.PeekUInt32(0);
        if (header == 0)
        {
            _input.Consume(4);
            if (_contentChecksum)
            {
                _state = State.ContentChecksum;
            }
            else
            {
                EndFrame();
            }

            return true;
        }

        var stored = (header & 0x80000000) != 0;
        var size = (int)(header & 0x7FFFFFFF);
        if (size > _blockMax)
        {
            throw new InvalidDataException($"lz4: corrupt data (a {size}-byte block in a frame of {_blockMax}-byte blocks)");
        }

        var total = 4 + size + (_blockChecksum ? 4 : 0);
        if (!_input.Has(total))
        {
            return false;
        }

        var block = _input.Data.Slice(4, size);
        if (_blockChecksum && XxHash32.HashToUInt32(block) != _input.PeekUInt32(4 + size))
        {
            throw new InvalidDataException("lz4: block checksum mismatch (corrupt data)");
        }

        int end;
        if (stored)
        {
            block.CopyTo(_window.AsSpan(HistorySize));
            end = HistorySize + size;
        }
        else
        {
            var historyStart = _blockIndependent ? HistorySize : HistorySize - _historyLength;
            end = Lz4Block.Decode(block, _window.AsSpan(0, HistorySize + _blockMax), HistorySize, historyStart);
        }

        _input.Consume(total);
        Produce(HistorySize, end, State.BlockHeader);
        return true;
    }

    private bool ReadLegacyBlock()
    {
        if (_input.IsExhausted)
        {
            _state = State.Finished;
            return true;
        }

        if (!_input.Has(4))
        {
            return false;
        }

        var size = _input.PeekUInt32(0);
        if (size > LegacyMaxCompressed)
        {
            // Legacy streams have no end mark: a "size" this large is the magic number of the next frame.
            _state = State.FrameStart;
            return true;
        }

        if (!_input.Has(4 + (int)size))
        {
            return false;
        }

        var end = Lz4Block.Decode(_input.Data.Slice(4, (int)size), _window.AsSpan(0, LegacyBlockSize), 0, 0);
        _input.Consume(4 + (int)size);
        Produce(0, end, State.LegacyBlock);
        return true;
    }

    private void Produce(int start, int end, State next)
    {
        var block = _window.AsSpan(start, end - start);
        if (_contentChecksum)
        {
            _contentHash.Append(block);
        }

        _produced += block.Length;
        if (_contentSize >= 0 && _produced > _contentSize)
        {
            throw new InvalidDataException($"lz4: frame holds more than its declared {_contentSize} bytes (corrupt data)");
        }

        _outStart = start;
        _outEnd = end;
        _afterDrain = next;
        _state = end > start ? State.Drain : next;
    }

    private void EndFrame()
    {
        if (_contentSize >= 0 && _produced != _contentSize)
        {
            throw new InvalidDataException($"lz4: frame holds {_produced} bytes but declares {_contentSize} (corrupt data)");
        }

        _state = State.FrameStart;
    }

    // Moves the last 64 KiB of output in front of the block area, where the next dependent block may refer to it.
    private void KeepHistory()
    {
        var available = _historyLength + (_outEnd - HistorySize);
        var keep = Math.Min(HistorySize, available);
        _window.AsSpan(_outEnd - keep, keep).CopyTo(_window.AsSpan(HistorySize - keep));
        _historyLength = keep;
    }

    private void EnsureWindow(int size)
    {
        if (_window.Length < size)
        {
            _window = new byte[size];
        }
    }
}
