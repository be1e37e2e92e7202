using Imageimportd.Oci;

namespace Imageimportd.Archive;

/// <summary>
/// A blob taken from an archive entry. <see cref="Header"/> holds its first bytes (to tell a compressed layer
/// from a plain tar); <see cref="Json"/> keeps small JSON documents (manifests, configs, indexes) so the import
/// walk need not read them back from the store.
/// </summary>
public sealed record StoredBlob(Digest Digest, long Size, ReadOnlyMemory<byte> Header, byte[]? Json)
{
    /// <summary>Whether the blob is (or will be) in the store, and if not, why.</summary>
    public BlobState State { get; init; } = BlobState.Stored;

    /// <summary>
    /// Completes when the store has committed the blob (at once when it had it already, or when <see cref="State"/> is
    /// not <see cref="BlobState.Stored"/>); faults when the commit failed. Until it has completed, with
    /// <see cref="State"/> <see cref="BlobState.Stored"/>, the blob must not be read from the store.
    /// </summary>
    public Task Committed { get; init; } = Task.CompletedTask;

    /// <summary>True once the blob can be read from the store.</summary>
    public bool InStore => State == BlobState.Stored && Committed.IsCompletedSuccessfully;
}
