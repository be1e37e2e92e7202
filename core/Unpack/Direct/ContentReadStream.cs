using Imageimportd.Compression;
using Imageimportd.Content;
using Imageimportd.Oci;

namespace Imageimportd.Unpack.Direct;

/// <summary>
/// A committed blob read front to back in chunks, the next chunk requested while the current one is consumed so the
/// round trip to the store overlaps the work. Ends at the descriptor's size; a store that returns less throws.
/// </summary>
internal sealed class ContentReadStream(IContentProvider content, Descriptor blob, CancellationToken cancellationToken) : ReadOnlyStream
{
    private const int ChunkBytes = 1 << 20;

    private long _requested;
    private Task<byte[]>? _next;
    private byte[] _chunk = [];
    private int _position;

    public override int Read(Span<byte> buffer) =>
        _position < _chunk.Length || NextChunkAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult() ? Take(buffer) : 0;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _position < _chunk.Length || await NextChunkAsync(cancellationToken) ? Take(buffer.Span) : 0;

    /// <summary>Moves to the next chunk (and asks for the one after it); false at the end of the blob.</summary>
    private async ValueTask<bool> NextChunkAsync(CancellationToken cancellationToken)
    {
        _next ??= Request();
        if (_next is null)
        {
            return false;
        }

        _chunk = await _next.WaitAsync(cancellationToken);
        _position = 0;
        _next = Request();
        return true;
    }

    private int Take(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _chunk.Length - _position);
        _chunk.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    private Task<byte[]>? Request()
    {
        if (_requested >= blob.Size)
        {
            return null;
        }

        var offset = _requested;
        var size = (int)Math.Min(ChunkBytes, blob.Size - offset);
        _requested += size;
        return ReadChunkAsync(offset, size);
    }

    private async Task<byte[]> ReadChunkAsync(long offset, int size)
    {
        var data = await content.ReadAsync(blob.Digest, offset, size, cancellationToken);
        if (data.Length != size)
        {
            throw new InvalidDataException($"blob {blob.Digest}: read {data.Length} bytes at {offset}, expected {size}");
        }

        return data;
    }
}
