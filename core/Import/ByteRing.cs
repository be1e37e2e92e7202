using System.Buffers;
using System.Diagnostics;
using Imageimportd.Compression;

namespace Imageimportd.Import;

/// <summary>
/// A bounded channel of bytes from one writer to one reader over one fixed buffer: the tee's copy of the layers on
/// their way to the applier. Unlike a <see cref="System.IO.Pipelines.Pipe"/> it allocates nothing per write (a pipe that
/// may run megabytes ahead rents a 64 KiB segment per write once its own small pool is empty), and it wakes the other
/// side only when that side waits: the writer when at least half the buffer is free, the reader on any bytes.
/// <para>
/// The bytes come in segments, one per layer: <see cref="EndSegment"/> marks where one ends, the reader sees the end of
/// the stream there, and <see cref="NextSegmentAsync"/> moves it to the next one (skipping what it did not read).
/// </para>
/// Contract: one writer calls <see cref="WriteAsync"/> and <see cref="EndSegment"/>, then <see cref="Complete"/>; one
/// reader reads <see cref="Reader"/> and disposes it when done with the whole ring (the end, a fault, or giving up
/// early). Once the reader is gone, writes return false and copy nothing.
/// </summary>
internal sealed class ByteRing
{
    private readonly byte[] _buffer;
    private readonly Lock _gate = new();

    // Where the segments the reader has not moved past end (positions in the stream, ascending).
    private readonly Queue<long> _ends = new();
    private long _written;
    private long _read;
    private bool _writerDone;
    private Exception? _writerFault;
    private bool _readerGone;
    private TaskCompletionSource? _readerWaits;
    private TaskCompletionSource? _writerWaits;

    public ByteRing(byte[] buffer)
    {
        _buffer = buffer;
        Reader = new RingReader(this);
    }

    /// <summary>The read side, as a stream; dispose it to let the writer go on without copying.</summary>
    public Stream Reader { get; }

    /// <summary>Copies all of <paramref name="data"/> in, waiting for room; false once the reader is gone (nothing more is copied).</summary>
    public async ValueTask<bool> WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            Task? room = null;
            long at;
            int free;
            lock (_gate)
            {
                if (_readerGone)
                {
                    return false;
                }

                at = _written;
                free = _buffer.Length - (int)(_written - _read);
                if (free < Math.Min(data.Length, _buffer.Length / 2))
                {
                    // Wait for half the buffer (or all the data), so reader and writer do not wake each other per read.
                    _writerWaits = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    room = _writerWaits.Task;
                }
            }

            if (room is not null)
            {
                await room.WaitAsync(cancellationToken);
                continue;
            }

            // Only the writer writes the free part, so the copy needs no lock.
            var n = CopyIn(at, data.Span[..Math.Min(free, data.Length)]);
            data = data[n..];
            lock (_gate)
            {
                _written += n;
                Wake(ref _readerWaits);
            }
        }

        return true;
    }

    /// <summary>Ends the current segment at what was written so far; the reader sees an end of stream there.</summary>
    public void EndSegment()
    {
        lock (_gate)
        {
            _ends.Enqueue(_written);
            Wake(ref _readerWaits);
        }
    }

    /// <summary>
    /// Moves the reader to the start of the next segment, discarding what is left of the current one (waiting for the
    /// writer to end it). Returns false when the writer completed without ending it: there is no next segment.
    /// </summary>
    public async ValueTask<bool> NextSegmentAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_ends.TryDequeue(out var end))
                {
                    _read = end;
                    WakeWriterIfRoom();
                    return true;
                }

                // The current segment has not ended yet: drop what is there and wait for more, or for its end.
                _read = _written;
                WakeWriterIfRoom();
                if (_writerDone)
                {
                    return false;
                }

                _readerWaits = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                wait = _readerWaits.Task;
            }

            await wait.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Ends the stream: the reader sees its end, or <paramref name="fault"/> thrown once the bytes before it are read.</summary>
    public void Complete(Exception? fault = null)
    {
        lock (_gate)
        {
            _writerDone = true;
            _writerFault = fault;
            Wake(ref _readerWaits);
        }
    }

    private int CopyIn(long at, ReadOnlySpan<byte> data)
    {
        var offset = (int)(at % _buffer.Length);
        var first = Math.Min(data.Length, _buffer.Length - offset);
        data[..first].CopyTo(_buffer.AsSpan(offset));
        data[first..].CopyTo(_buffer);
        return data.Length;
    }

    private async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            Task? data = null;
            long at;
            int available;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_readerGone, this);
                at = _read;
                available = (int)((_ends.TryPeek(out var end) ? end : _written) - _read);
                if (available == 0)
                {
                    if (_ends.Count > 0)
                    {
                        return 0; // the end of this segment
                    }

                    if (_writerDone)
                    {
                        return _writerFault is null ? 0 : throw new IOException("the layer's bytes stopped: " + _writerFault.Message, _writerFault);
                    }

                    _readerWaits = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    data = _readerWaits.Task;
                }
            }

            if (data is not null)
            {
                await data.WaitAsync(cancellationToken);
                continue;
            }

            var n = CopyOut(at, destination.Span[..Math.Min(available, destination.Length)]);
            lock (_gate)
            {
                _read += n;
                WakeWriterIfRoom();
            }

            return n;
        }
    }

    private int CopyOut(long at, Span<byte> destination)
    {
        var offset = (int)(at % _buffer.Length);
        var first = Math.Min(destination.Length, _buffer.Length - offset);
        _buffer.AsSpan(offset, first).CopyTo(destination);
        _buffer.AsSpan(0, destination.Length - first).CopyTo(destination[first..]);
        return destination.Length;
    }

    private void LeaveReader()
    {
        lock (_gate)
        {
            _readerGone = true;
            Wake(ref _writerWaits);
        }
    }

    private void WakeWriterIfRoom()
    {
        if (_buffer.Length - (_written - _read) >= _buffer.Length / 2)
        {
            Wake(ref _writerWaits);
        }
    }

    private static void Wake(ref TaskCompletionSource? waiter)
    {
        Debug.Assert(waiter is null || !waiter.Task.IsCompleted);
        waiter?.TrySetResult();
        waiter = null;
    }

    private sealed class RingReader(ByteRing ring) : ReadOnlyStream
    {
        public override int Read(Span<byte> buffer)
        {
            var rented = ArrayPool<byte>.Shared.Rent(buffer.Length);
            try
            {
                var n = ring.ReadAsync(rented.AsMemory(0, buffer.Length), CancellationToken.None).AsTask().GetAwaiter().GetResult();
                rented.AsSpan(0, n).CopyTo(buffer);
                return n;
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ring.ReadAsync(buffer, cancellationToken);

        protected override void Dispose(bool disposing)
        {
            ring.LeaveReader();
            base.Dispose(disposing);
        }
    }
}
