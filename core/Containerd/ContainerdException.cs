namespace Imageimportd.Containerd;

/// <summary>A failed containerd call, classified once at the gRPC boundary.</summary>
public sealed class ContainerdException : Exception
{
    public ContainerdException(ErrorKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
    }

    public ErrorKind Kind { get; }

    /// <summary>Failures that can pass on their own: the same call may succeed later.</summary>
    public bool IsTransient => Kind is ErrorKind.Unavailable or ErrorKind.DeadlineExceeded or ErrorKind.ResourceExhausted or ErrorKind.Aborted;
}
