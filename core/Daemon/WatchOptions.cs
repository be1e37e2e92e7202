namespace Imageimportd.Daemon;

/// <summary>How the watch daemon scans, settles, imports and stops.</summary>
public sealed record WatchOptions
{
    public required string ImagesDirectory { get; init; }

    /// <summary>Null turns the persistent cache off.</summary>
    public string? CachePath { get; init; }

    /// <summary>The full scan, the source of truth; inotify events are hints between scans.</summary>
    public TimeSpan ScanInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>At most one cache write per this interval while imports complete (plus one per pass and at shutdown).</summary>
    public TimeSpan CacheSaveInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan SettleTime { get; init; } = TimeSpan.FromSeconds(2);

    public int Parallel { get; init; } = 2;

    /// <summary>How long in-flight imports may run on after SIGTERM before they are aborted.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
