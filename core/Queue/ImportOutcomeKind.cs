namespace Imageimportd.Queue;

/// <summary>How an import ended, as far as the queue cares: what to do with the file next.</summary>
public enum ImportOutcomeKind
{
    /// <summary>Imported (or already there): done until the file changes.</summary>
    Success,

    /// <summary>Failed for a reason that can pass on its own (containerd unavailable, deadline): retried with backoff.</summary>
    Transient,

    /// <summary>Failed because of the file itself (not an archive, corrupt): parked until the file changes.</summary>
    Permanent,
}
