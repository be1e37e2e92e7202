using Imageimportd.Import;
using Imageimportd.Queue;

namespace Imageimportd.Observe;

/// <summary>The daemon's queue and importer seen through <see cref="IDaemonView"/>.</summary>
public sealed class DaemonView(string imagesDirectory, ImportQueue queue, FileImporter importer) : IDaemonView
{
    public string ImagesDirectory { get; } = imagesDirectory;

    public int QueueDepth => queue.PendingCount;

    public IReadOnlyList<ImportProgress> InFlight => importer.InFlight;

    public IReadOnlyList<QueueEntryInfo> Queue() => queue.Snapshot();
}
