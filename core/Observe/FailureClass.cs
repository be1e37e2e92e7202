using Imageimportd.Containerd;

namespace Imageimportd.Observe;

/// <summary>
/// The cause class of a failed import, a short stable word for metrics labels and status output; the same split
/// as the failure log line (containerd's error kinds come from the one classification at the gRPC boundary).
/// </summary>
public static class FailureClass
{
    public static string Classify(Exception error) => error switch
    {
        ContainerdException { Kind: ErrorKind.Unavailable } => "containerd_unavailable",
        ContainerdException { Kind: ErrorKind.DeadlineExceeded } => "containerd_deadline",
        ContainerdException { Kind: ErrorKind.ResourceExhausted } => "containerd_resource_exhausted",
        ContainerdException => "containerd_error",
        InvalidDataException => "bad_archive",
        FileNotFoundException => "file_vanished",
        UnauthorizedAccessException => "unreadable",
        IOException => "io_error",
        _ => "other",
    };

    /// <summary>Whether the failure says containerd could not be reached at all.</summary>
    public static bool IsContainerdUnreachable(Exception error) => error is ContainerdException { Kind: ErrorKind.Unavailable };
}
