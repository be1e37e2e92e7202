using Imageimportd.Compression;
using Imageimportd.Content;
using Imageimportd.Oci;

namespace Imageimportd.Unpack.Direct;

/// <summary>
/// A committed blob read front to back in chunks, the next chunk requested while the current one is consumed so the
/// round trip to the store overlaps the work. Two pooled buffers take turns, so reading a blob of any size allocates
/// nothing per chunk. Ends at the descriptor's size; a store that returns less throws.
/// </summary>
internal sealed class ContentReadStream(IContentProvider content, Descriptor blob, CancellationToken cancellationToken) : ReadOnlyStream
{
    private const int ChunkBytes = 1 << 20;

    private long _requested;
    private Task<int>? _next;
    private byte[]? _nextBuffer;
    private byte[]? _chunk;
    private int _length;
    private int _position;

    public override int Read(Span<byte> buffer) =>
        _position < _length || NextChunkAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult() ? Take(buffer) : 0;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _position < _length || await NextChunkAsync(cancellationToken) ? Take(buffer.Span) : 0;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Return(ref _chunk);
            if (_next is null || _next.IsCompleted)
            {
                // A read still in flight writes into its buffer: that one is left to the GC, not handed back.
                Return(ref _nextBuffer);
            }
        }

        base.Dispose(disposing);
    }

    /// <summary>Moves to the next chunk (and asks for the one after it); false at the end of the blob.</summary>
    private async ValueTask<bool> NextChunkAsync(CancellationToken cancellationToken)
    {
        if (_next is null && !Request())
        {
            return false;
        }

        _length = await _next!.WaitAsync(cancellationToken);
        (_chunk, _nextBuffer) = (_nextBuffer, _chunk);
        _position = 0;
        _next = null;
        Request();
        return true;
    }

    private int Take(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _length - _position);
        _chunk.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    /// <summary>Starts reading the next chunk into the free buffer; false when the blob has no more.</summary>
    private bool Request()
    {
        if (_requested >= blob.Size)
        {
            return false;
        }

        var offset = _requested;
        var size = (int)Math.Min(ChunkBytes, blob.Size - offset);
        _requested += size;
        _nextBuffer ??= ChunkPool.Shared.Rent(ChunkBytes);
        _next = ReadChunkAsync(_nextBuffer.AsMemory(0, size), offset);
        return true;
    }

    private async Task<int> ReadChunkAsync(Memory<byte> into, long offset)
    {
        var read = await content.ReadIntoAsync(blob.Digest, offset, into, cancellationToken);
        if (read != into.Length)
        {
            throw new InvalidDataException($"blob {blob.Digest}: read {read} bytes at {offset}, expected {into.Length}");
        }

        return read;
    }

    private static void Return(ref byte[]? buffer)
    {
        if (buffer is not null)
        {
            ChunkPool.Shared.Return(buffer);
            buffer = null;
        }
    }
}
