using System.Buffers.Binary;

namespace Imageimportd.Compression;

/// <summary>
/// The one buffer between the compressed input and a decoder. Library decoders read it as a <see cref="Stream"/>;
/// the decoders written here look at <see cref="Data"/> directly and ask for a number of contiguous bytes with
/// <see cref="Has"/>, so their hot loops work on arrays and never wait for I/O.
/// </summary>
internal sealed class BufferedInput : Stream
{
    /// <summary>The largest contiguous run a decoder may ask for: an lz4 legacy block (8 MiB plus its bound) fits.</summary>
    public const int MaxCapacity = 16 << 20;

    private const int InitialCapacity = 128 << 10;

    private readonly Stream _inner;
    private readonly byte[] _tail = new byte[8];
    private byte[] _buffer = new byte[InitialCapacity];
    private int _start;
    private int _end;
    private int _requested;
    private bool _atEnd;
    private long _bytesRead;
    private bool _disposed;

    public BufferedInput(Stream inner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (!inner.CanRead)
        {
            throw new ArgumentException("The input stream is not readable.", nameof(inner));
        }

        _inner = inner;
    }

    /// <summary>Names the format in truncation errors; set once the format is known.</summary>
    public string FormatName { get; set; } = "input";

    /// <summary>Buffered bytes not yet consumed.</summary>
    public int Available => _end - _start;

    /// <summary>True once the underlying stream has reported its end; what is buffered is then all there is.</summary>
    public bool AtEnd => _atEnd;

    /// <summary>True when every byte of the input has been consumed.</summary>
    public bool IsExhausted => _atEnd && _start == _end;

    /// <summary>Bytes read from the underlying stream so far, including what is buffered but not yet consumed.</summary>
    public long BytesRead => _bytesRead;

    /// <summary>
    /// The exception the underlying stream threw, if any. SharpZipLib's bzip2 decoder turns every read failure into
    /// "end of stream", so this lets the real cause (an I/O error, a cancellation) be reported instead.
    /// </summary>
    public Exception? Fault { get; private set; }

    /// <summary>The buffer holding <see cref="Data"/>, for decoders that work on arrays.</summary>
    public byte[] Buffer => _buffer;

    /// <summary>Where <see cref="Data"/> starts in <see cref="Buffer"/>.</summary>
    public int Offset => _start;

    /// <summary>The buffered bytes not yet consumed.</summary>
    public ReadOnlySpan<byte> Data => _buffer.AsSpan(_start, _end - _start);

    public override bool CanRead => !_disposed;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>Marks bytes of <see cref="Data"/> as used.</summary>
    public void Consume(int count)
    {
        if ((uint)count > (uint)(_end - _start))
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        _start += count;
    }

    /// <summary>
    /// True when at least <paramref name="count"/> bytes are buffered. Otherwise records the request (the caller returns
    /// and its driver fills the buffer), or throws a truncation error when the input has already ended.
    /// </summary>
    public bool Has(int count)
    {
        if (_end - _start >= count)
        {
            return true;
        }

        if (_atEnd)
        {
            throw Truncated();
        }

        _requested = Math.Max(_requested, count);
        return false;
    }

    /// <summary>The error every format reports when its input stops early.</summary>
    public InvalidDataException Truncated() => new($"{FormatName}: unexpected end of stream (the input is truncated)");

    /// <summary>Fills the buffer to satisfy the last <see cref="Has"/> that failed.</summary>
    public void FillRequested() => Fill(TakeRequest());

    /// <inheritdoc cref="FillRequested"/>
    public ValueTask<bool> FillRequestedAsync(CancellationToken cancellationToken) => FillAsync(TakeRequest(), cancellationToken);

    /// <summary>Reads until <paramref name="count"/> bytes are buffered or the input ends; true if they are.</summary>
    public bool Fill(int count)
    {
        while (_end - _start < count && !_atEnd)
        {
            MakeRoom(count);
            int read;
            try
            {
                read = _inner.Read(_buffer, _end, _buffer.Length - _end);
            }
            catch (Exception e)
            {
                Fault = e;
                throw;
            }

            Append(read);
        }

        return _end - _start >= count;
    }

    /// <inheritdoc cref="Fill"/>
    public async ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        while (_end - _start < count && !_atEnd)
        {
            MakeRoom(count);
            int read;
            try
            {
                read = await _inner.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            }
            catch (Exception e)
            {
                Fault = e;
                throw;
            }

            Append(read);
        }

        return _end - _start >= count;
    }

    /// <summary>Discards <paramref name="count"/> bytes; false if the input ended first.</summary>
    public async ValueTask<bool> SkipAsync(long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            if (_start == _end && !await FillAsync(1, cancellationToken))
            {
                return false;
            }

            var n = (int)Math.Min(count, _end - _start);
            _start += n;
            count -= n;
        }

        return true;
    }

    /// <summary>The last 8 bytes read from the underlying stream (fewer at the front if it was shorter), e.g. a gzip trailer.</summary>
    public ReadOnlySpan<byte> Tail => _tail;

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_start == _end && !_atEnd)
        {
            if (buffer.Length >= _buffer.Length)
            {
                // A caller with a big buffer of its own gets the data without a copy through ours.
                return ReadDirect(buffer);
            }

            Fill(1);
        }

        return CopyOut(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_start == _end && !_atEnd)
        {
            await FillAsync(1, cancellationToken);
        }

        return CopyOut(buffer.Span);
    }

    public override int ReadByte()
    {
        if (_start < _end)
        {
            return _buffer[_start++];
        }

        return Fill(1) ? _buffer[_start++] : -1;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await _inner.DisposeAsync();
        }

        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private int TakeRequest()
    {
        var request = Math.Max(_requested, 1);
        _requested = 0;
        if (request <= _end - _start)
        {
            // A decoder that returns nothing must have asked for more than it has, or it would spin forever.
            throw new InvalidOperationException($"{FormatName}: decoder stalled with {_end - _start} bytes buffered.");
        }

        return request;
    }

    private int CopyOut(Span<byte> destination)
    {
        var n = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, n).CopyTo(destination);
        _start += n;
        return n;
    }

    private int ReadDirect(Span<byte> destination)
    {
        int read;
        try
        {
            read = _inner.Read(destination);
        }
        catch (Exception e)
        {
            Fault = e;
            throw;
        }

        if (read == 0)
        {
            _atEnd = true;
        }
        else
        {
            _bytesRead += read;
            RememberTail(destination[..read]);
        }

        return read;
    }

    private void Append(int read)
    {
        if (read == 0)
        {
            _atEnd = true;
            return;
        }

        RememberTail(_buffer.AsSpan(_end, read));
        _end += read;
        _bytesRead += read;
    }

    private void RememberTail(ReadOnlySpan<byte> data)
    {
        if (data.Length >= _tail.Length)
        {
            data[^_tail.Length..].CopyTo(_tail);
        }
        else
        {
            _tail.AsSpan(data.Length).CopyTo(_tail);
            data.CopyTo(_tail.AsSpan(_tail.Length - data.Length));
        }
    }

    // Makes sure `count` contiguous bytes fit from _start and that there is room to read into after _end.
    private void MakeRoom(int count)
    {
        if (count > MaxCapacity)
        {
            throw new InvalidOperationException($"{FormatName}: a decoder asked for {count} contiguous bytes, over the {MaxCapacity} limit.");
        }

        if (_start + count <= _buffer.Length && _end < _buffer.Length)
        {
            return;
        }

        var buffered = _end - _start;
        if (count <= _buffer.Length)
        {
            _buffer.AsSpan(_start, buffered).CopyTo(_buffer);
        }
        else
        {
            var grown = new byte[(int)Math.Min(MaxCapacity, Math.Max((long)count, 2L * _buffer.Length))];
            _buffer.AsSpan(_start, buffered).CopyTo(grown);
            _buffer = grown;
        }

        _start = 0;
        _end = buffered;
    }

    /// <summary>Reads a little-endian 32-bit value at <paramref name="offset"/> into <see cref="Data"/>.</summary>
    public uint PeekUInt32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_start + offset, 4));
}
