using Imageimportd.Archive;
using Imageimportd.Content;
using Imageimportd.Oci;

namespace Imageimportd.Images;

/// <summary>
/// Reads the JSON blobs the import walk needs: first from what the archive reader kept in memory, else from the
/// content store (a blob the store already had, or one too large to keep). Reads are bounded.
/// </summary>
public sealed class BlobJsonSource(IContentProvider provider, long maxBytes)
{
    private readonly Dictionary<Digest, byte[]> _known = [];

    public void Add(StoredBlob blob)
    {
        if (blob.Json is not null)
        {
            _known[blob.Digest] = blob.Json;
        }
    }

    public void AddAll(IEnumerable<StoredBlob> blobs)
    {
        foreach (var blob in blobs)
        {
            Add(blob);
        }
    }

    public async ValueTask<byte[]> ReadAsync(Descriptor descriptor, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue(descriptor.Digest, out var bytes))
        {
            return bytes;
        }

        if (descriptor.Size > maxBytes)
        {
            throw new InvalidDataException($"{descriptor.Digest}: {descriptor.Size} bytes is too large for image metadata");
        }

        bytes = await provider.ReadAsync(descriptor.Digest, 0, (int)descriptor.Size, cancellationToken);
        if (bytes.Length != descriptor.Size || Digest.FromBytes(bytes) != descriptor.Digest)
        {
            throw new InvalidDataException($"{descriptor.Digest}: content read back does not match its descriptor");
        }

        _known[descriptor.Digest] = bytes;
        return bytes;
    }
}
