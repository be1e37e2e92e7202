namespace Imageimportd.Queue;

/// <summary>Where a file stands in the queue, for status reports.</summary>
public enum QueueEntryState
{
    /// <summary>Waiting for its size and mtime to settle.</summary>
    Queued,

    /// <summary>Waiting out a backoff after a failure that can pass.</summary>
    Retrying,
    InFlight,

    /// <summary>Failed because of the file itself; waits for it to change.</summary>
    Parked,
}

/// <summary>One file in the queue. <see cref="DueAt"/> is when it is looked at next (Queued, Retrying).</summary>
public sealed record QueueEntryInfo(string Path, QueueEntryState State, DateTimeOffset DueAt, int Attempt);
