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
}
