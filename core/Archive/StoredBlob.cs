using Imageimportd.Oci;

namespace Imageimportd.Archive;

/// <summary>
/// A blob taken from an archive entry. <see cref="Header"/> holds its first bytes (to tell a compressed layer
/// from a plain tar); <see cref="Json"/> keeps small JSON documents (manifests, configs, indexes) so the import
/// walk need not read them back from the store.
/// </summary>
public sealed record StoredBlob(Digest Digest, long Size, ReadOnlyMemory<byte> Header, byte[]? Json);
