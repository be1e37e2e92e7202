using Imageimportd.Import;
using Imageimportd.Queue;

namespace Imageimportd.Observe;

/// <summary>Live read-only views of the daemon's queue and imports, polled by observers. Thread-safe.</summary>
public interface IDaemonView
{
    string ImagesDirectory { get; }

    IReadOnlyList<QueueEntryInfo> Queue();

    /// <summary>Files waiting, retrying or in flight (parked ones excluded).</summary>
    int QueueDepth { get; }

    IReadOnlyList<ImportProgress> InFlight { get; }
}
