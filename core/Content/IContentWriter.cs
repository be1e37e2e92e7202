using Imageimportd.Oci;

namespace Imageimportd.Content;

/// <summary>
/// One write session. Writes are sequential and may be pipelined: <see cref="WriteAsync"/> can return before the store
/// has the bytes, and a failure surfaces at a later write or at <see cref="CommitAsync"/>.
/// Disposing a writer that was not committed aborts the ingest, leaving no partial content behind.
/// </summary>
public interface IContentWriter : IAsyncDisposable
{
    /// <summary>
    /// Declares the blob of a session from <see cref="IContentIngester.OpenWriterAheadAsync"/>, before any write.
    /// False when the store already holds <paramref name="expected"/>: the session is then over, with nothing to write
    /// or commit (disposing it is still right). Unlike <see cref="IContentIngester.OpenWriterAsync"/> answering null,
    /// this does not hold the content for the import: containerd looks it up without adding it to the lease.
    /// </summary>
    ValueTask<bool> ExpectAsync(long size, Digest expected, CancellationToken cancellationToken);

    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Commits the blob as <paramref name="digest"/>. Content that already exists counts as committed.</summary>
    ValueTask CommitAsync(long size, Digest digest, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken);
}
