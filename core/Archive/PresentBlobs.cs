using System.Threading.Channels;
using Imageimportd.Oci;

namespace Imageimportd.Archive;

/// <summary>
/// Presence tracking: reads a <see cref="StoredBlobFeed"/> channel and keeps the digest of every blob this import
/// produced (read from the archive or generated, such as a docker archive's manifests and index), which is what the
/// import walk counts as present. Read <see cref="Digests"/> only after <see cref="WhenDoneAsync"/>.
/// </summary>
public sealed class PresentBlobs
{
    private readonly HashSet<Digest> _digests = [];
    private readonly Task _reader;

    public PresentBlobs(ChannelReader<StoredBlobEvent> feed)
    {
        _reader = Task.Run(async () =>
        {
            await foreach (var stored in feed.ReadAllAsync())
            {
                _digests.Add(stored.Blob.Digest);
            }
        });
    }

    public IReadOnlySet<Digest> Digests => _digests;

    /// <summary>Completes once the feed is closed and every event read.</summary>
    public Task WhenDoneAsync() => _reader;
}
