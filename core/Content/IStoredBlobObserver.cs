using Imageimportd.Archive;

namespace Imageimportd.Content;

/// <summary>
/// Told of every blob the write-content stage stores, in archive order, as soon as the reader is done with it.
/// Contract: <see cref="OnStored"/> is called on the reader's path, so it must return at once; <paramref name="committed"/>
/// completes when the store has committed the blob (at once when the store already had it); it faults when the commit
/// failed, and is cancelled when the blob was deliberately not stored (its compressed twin stands in for it). Until it
/// has completed successfully the blob must not be read from the store.
/// </summary>
public interface IStoredBlobObserver
{
    void OnStored(string path, StoredBlob blob, Task committed);
}
