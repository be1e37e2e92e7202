using Imageimportd.Oci;

namespace Imageimportd.Content;

/// <summary>
/// Writes blobs into a content store.
/// Contract: written content is invisible until it is committed; content that already exists is success
/// (an expected digest the store has means nothing needs to be sent); the store verifies size and digest at commit.
/// </summary>
public interface IContentIngester
{
    /// <summary>
    /// Opens a write session under <paramref name="reference"/>, which must be unique to this import.
    /// Returns null when <paramref name="expected"/> is given and the store already holds it.
    /// </summary>
    ValueTask<IContentWriter?> OpenWriterAsync(string reference, long size, Digest? expected, CancellationToken cancellationToken);

    /// <summary>
    /// Opens a write session under <paramref name="reference"/> (unique to this import) before its blob is known, so
    /// what the store does to open one is done ahead of need. Returns once the session is open; the blob is then
    /// declared with <see cref="IContentWriter.ExpectAsync"/>. Disposing it unused aborts it, like any writer.
    /// </summary>
    ValueTask<IContentWriter> OpenWriterAheadAsync(string reference, CancellationToken cancellationToken);
}
