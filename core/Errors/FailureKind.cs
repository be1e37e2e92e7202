namespace Imageimportd.Errors;

/// <summary>
/// The class of a failed call to the import's backend (containerd, or a registry behind its CRI plugin). Callers
/// branch on it, never on message text or on a transport's own codes; the transport's adapter maps its codes to
/// these once (for gRPC: <c>Containerd/ContainerdErrors</c>). Whether a class is worth retrying is
/// <see cref="RetryPolicy"/>'s decision, not the caller's. The member names are the values of the <c>ErrorKind</c> property of the
/// failure log line, so they stay as they are.
/// </summary>
public enum FailureKind
{
    /// <summary>Not classified: a failure no other class describes. Permanent.</summary>
    Unknown,

    /// <summary>The object asked for (blob, image, lease, snapshot) does not exist.</summary>
    NotFound,

    /// <summary>The object being created exists already; writers treat it as success.</summary>
    AlreadyExists,

    /// <summary>The backend refused the request as malformed or out of range: retrying the same request cannot help.</summary>
    InvalidArgument,

    /// <summary>The backend's state does not allow the request (e.g. a snapshot's parent is missing).</summary>
    FailedPrecondition,

    /// <summary>The backend is not running, restarting, the socket is gone, or a registry cannot be reached: passes on its own.</summary>
    Unavailable,

    /// <summary>A deadline passed before the backend answered: passes on its own.</summary>
    DeadlineExceeded,

    /// <summary>The backend ran out of space or another resource: passes once something is freed.</summary>
    ResourceExhausted,

    /// <summary>The call was cancelled (shutting down, or a caller's deadline).</summary>
    Canceled,

    /// <summary>
    /// The operation lost a race that passes on its own: e.g. content collected by containerd's GC while this import
    /// was writing it (another import's lease ended at that moment).
    /// </summary>
    Aborted,
}
