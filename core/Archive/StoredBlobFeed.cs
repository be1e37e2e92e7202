using System.Threading.Channels;
using Imageimportd.Oci;

namespace Imageimportd.Archive;

/// <summary>
/// Passes entries to the sink behind it and then tells every subscriber what was stored, in archive order, through a
/// bounded channel each (one reader per channel). Stages that only consume what was stored (unpack ahead, presence
/// tracking) read their channel on their own task instead of being called back from inside the write-content stage.
/// Contract: subscribe before the first entry; a subscriber must keep reading until the channel completes (a full
/// channel holds the archive reader back); <see cref="Close"/> completes every channel and may be called twice.
/// </summary>
public sealed class StoredBlobFeed(IBlobSink inner) : IBlobSink
{
    // Plenty for one archive's metadata bursts; a reader that falls this far behind holds the archive reader back.
    private const int Capacity = 256;

    private readonly List<ChannelWriter<StoredBlobEvent>> _subscribers = [];

    public ChannelReader<StoredBlobEvent> Subscribe()
    {
        var channel = Channel.CreateBounded<StoredBlobEvent>(new BoundedChannelOptions(Capacity)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _subscribers.Add(channel.Writer);
        return channel.Reader;
    }

    public async ValueTask<StoredBlob> IngestAsync(string path, long size, Digest? claimed, Digest? hint, Stream data, CancellationToken cancellationToken) =>
        await PublishAsync(path, await inner.IngestAsync(path, size, claimed, hint, data, cancellationToken), cancellationToken);

    public async ValueTask<StoredBlob> IngestAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
        await PublishAsync(path, await inner.IngestAsync(path, bytes, cancellationToken), cancellationToken);

    public ValueTask CompleteAsync(CancellationToken cancellationToken) => inner.CompleteAsync(cancellationToken);

    /// <summary>No more entries: every subscriber's channel completes once it has read what is in it.</summary>
    public void Close()
    {
        foreach (var subscriber in _subscribers)
        {
            subscriber.TryComplete();
        }
    }

    private async ValueTask<StoredBlob> PublishAsync(string path, StoredBlob blob, CancellationToken cancellationToken)
    {
        var stored = new StoredBlobEvent(path, blob);
        foreach (var subscriber in _subscribers)
        {
            await subscriber.WriteAsync(stored, cancellationToken);
        }

        return blob;
    }
}
