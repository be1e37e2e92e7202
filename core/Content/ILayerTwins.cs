using Imageimportd.Oci;

namespace Imageimportd.Content;

/// <summary>
/// Compressed twins of uncompressed layers: blobs the store already has that carry <c>containerd.io/uncompressed</c>
/// = a layer's digest (a pull leaves them, and so does unpacking an OCI import). containerd's docker-archive importer
/// names the twin in the manifest instead of the layer, so a layer that has one need not be sent at all.
/// Contract: <see cref="HoldAsync"/> returns true only when a twin exists and every twin it found is now held by the
/// import's lease (checked after holding), so garbage collection cannot take it before the image naming it is written.
/// </summary>
public interface ILayerTwins
{
    ValueTask<bool> HoldAsync(Digest layer, CancellationToken cancellationToken);
}
