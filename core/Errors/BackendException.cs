namespace Imageimportd.Errors;

/// <summary>
/// A failed call to the import's backend (containerd's services, or a registry reached through CRI), with its cause
/// class. Contract: thrown by every adapter behind the core's store interfaces, classified where the transport's error
/// is caught (once); <see cref="Exception.Message"/> names the operation and says what happened in plain words, and
/// <see cref="Exception.InnerException"/> keeps the transport's own error for the debug log. Whether it is worth
/// retrying is <see cref="RetryPolicy.IsTransient(Exception)"/>.
/// </summary>
public sealed class BackendException : Exception
{
    public BackendException(FailureKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
    }

    public FailureKind Kind { get; }
}
