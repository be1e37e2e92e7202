using Imageimportd.Oci;

namespace Imageimportd.Content;

/// <summary>
/// One write session. Writes are sequential and may be pipelined: <see cref="WriteAsync"/> can return before the store
/// has the bytes, and a failure surfaces at a later write or at <see cref="CommitAsync"/>.
/// Disposing a writer that was not committed aborts the ingest, leaving no partial content behind.
/// </summary>
public interface IContentWriter : IAsyncDisposable
{
    ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken);

    /// <summary>Commits the blob as <paramref name="digest"/>. Content that already exists counts as committed.</summary>
    ValueTask CommitAsync(long size, Digest digest, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken);
}
