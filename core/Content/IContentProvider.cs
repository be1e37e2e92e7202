using Imageimportd.Errors;
using Imageimportd.Oci;

namespace Imageimportd.Content;

/// <summary>Reads committed content.</summary>
public interface IContentProvider
{
    /// <summary>
    /// Reads up to <paramref name="maxBytes"/> bytes of <paramref name="digest"/> starting at <paramref name="offset"/>.
    /// Throws <see cref="BackendException"/> of kind NotFound when the blob is absent.
    /// </summary>
    ValueTask<byte[]> ReadAsync(Digest digest, long offset, int maxBytes, CancellationToken cancellationToken);

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes of <paramref name="digest"/> at <paramref name="offset"/> into
    /// <paramref name="destination"/> (fewer only where the blob ends) and returns how many: for reading a large blob
    /// through one reused buffer. Throws like <see cref="ReadAsync"/>.
    /// </summary>
    async ValueTask<int> ReadIntoAsync(Digest digest, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var bytes = await ReadAsync(digest, offset, destination.Length, cancellationToken);
        bytes.CopyTo(destination);
        return bytes.Length;
    }
}
