using Imageimportd.Containerd;
using Imageimportd.Logging;

namespace Imageimportd.Import;

/// <summary>
/// The one place an exception becomes the words of a file's error line. The NativeAOT build strips .NET's resource
/// strings (<c>UseSystemResourceKeys</c>), so a framework exception's message is a key such as
/// <c>IO_EOF_ReadBeyondEOF</c> or <c>TarInvalidNumber</c>; those are replaced by what happened, by exception type.
/// Messages this project writes are plain already and kept.
/// </summary>
public static class FailureCause
{
    /// <param name="pullList">The file is a <c>.txt</c> pull list, not an archive.</param>
    public static string Describe(Exception ex, bool pullList = false) => ex switch
    {
        ContainerdException { Kind: ErrorKind.Canceled } => "containerd: the call was cancelled (shutting down, or its deadline passed)",
        ContainerdException c => "containerd: " + Plain(c.Message, "an error without details"),
        EndOfStreamException => "truncated: the file ends before the archive does",
        InvalidDataException d => (pullList ? "bad pull list: " : "bad archive: ") + Plain(d.Message, "corrupt data"),
        FileNotFoundException or DirectoryNotFoundException => "file vanished",
        UnauthorizedAccessException => "unreadable: permission denied",
        PathTooLongException => "path too long for the kernel to open",
        OutOfMemoryException or InsufficientMemoryException => "out of memory",
        IOException io => "I/O error: " + Plain(io.Message, "read failed"),
        OperationCanceledException => "cancelled (shutting down, or a deadline passed)",
        FormatException or ArgumentException => "bad archive: " + Plain(ex.Message, "malformed data"),
        _ => Plain(ex.Message, "unexpected error (" + ex.GetType().Name + ")"),
    };

    private static string Plain(string message, string fallback) => PlainText.Plain(message, fallback);
}
