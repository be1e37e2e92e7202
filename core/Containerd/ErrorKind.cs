namespace Imageimportd.Containerd;

/// <summary>The classes of failure callers branch on; never on message text.</summary>
public enum ErrorKind
{
    Unknown,
    NotFound,
    AlreadyExists,
    InvalidArgument,
    FailedPrecondition,

    /// <summary>containerd is not running, restarting, or the socket is gone: worth retrying.</summary>
    Unavailable,

    /// <summary>A deadline passed: worth retrying.</summary>
    DeadlineExceeded,

    /// <summary>containerd ran out of space or another resource: worth retrying later.</summary>
    ResourceExhausted,
    Canceled,

    /// <summary>
    /// The operation lost a race worth retrying: e.g. content collected by containerd's GC while this import was
    /// writing it (another import's lease ended at that moment).
    /// </summary>
    Aborted,
}
