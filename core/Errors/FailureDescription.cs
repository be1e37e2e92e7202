using Imageimportd.Logging;

namespace Imageimportd.Errors;

/// <summary>
/// What a failed import's exception means, in the words a user reads: <see cref="Class"/>, a short stable word (the
/// <c>cause</c> label of <c>imageimportd_files_failed_total</c> and the class in <c>status</c>), and
/// <see cref="Cause"/>, the plain words of the file's error line. Both come out of one switch over the exception, so
/// the metric, the status and the log line cannot disagree about what happened (backend failures arrive already
/// classified as a <see cref="BackendException"/>).
/// </summary>
/// <param name="Class">One of <see cref="Classes"/>.</param>
/// <param name="Cause">Plain words for the log line; never a stripped resource key.</param>
/// <param name="BackendUnreachable">The backend could not be reached at all (containerd down or restarting).</param>
public sealed record FailureDescription(string Class, string Cause, bool BackendUnreachable = false)
{
    /// <summary>Every <see cref="Class"/> word; a user-visible contract (README, Metrics).</summary>
    public static IReadOnlyList<string> Classes { get; } =
    [
        "bad_archive", "containerd_unavailable", "containerd_deadline", "containerd_resource_exhausted", "containerd_error",
        "file_vanished", "unreadable", "io_error", "other",
    ];

    /// <summary>
    /// Classifies <paramref name="error"/>. The NativeAOT build strips .NET's resource strings
    /// (<c>UseSystemResourceKeys</c>), so a framework exception's message is a key such as <c>IO_EOF_ReadBeyondEOF</c>;
    /// those are replaced by what happened, by exception type. Messages this project writes are plain already and kept.
    /// </summary>
    /// <param name="pullList">The file is a <c>.txt</c> pull list, not an archive (changes only the words).</param>
    public static FailureDescription Of(Exception error, bool pullList = false) => error switch
    {
        BackendException backend => OfBackend(backend),
        // A truncated archive is a bad archive, not an I/O failure: it fails again until the file changes.
        EndOfStreamException => new("bad_archive", "truncated: the file ends before the archive does"),
        InvalidDataException d => new("bad_archive", (pullList ? "bad pull list: " : "bad archive: ") + Plain(d.Message, "corrupt data")),
        FileNotFoundException or DirectoryNotFoundException => new("file_vanished", "file vanished"),
        UnauthorizedAccessException => new("unreadable", "unreadable: permission denied"),
        PathTooLongException => new("io_error", "path too long for the kernel to open"),
        OutOfMemoryException => new("other", "out of memory"),
        IOException io => new("io_error", "I/O error: " + Plain(io.Message, "read failed")),
        OperationCanceledException => new("other", "cancelled (shutting down, or a deadline passed)"),
        // What parsers of archive fields (numbers, digests, tar headers) throw on malformed input.
        FormatException or ArgumentException => new("bad_archive", "bad archive: " + Plain(error.Message, "malformed data")),
        _ => new("other", Plain(error.Message, "unexpected error (" + error.GetType().Name + ")")),
    };

    private static FailureDescription OfBackend(BackendException error)
    {
        var cause = error.Kind == FailureKind.Canceled
            ? "containerd: the call was cancelled (shutting down, or its deadline passed)"
            : "containerd: " + Plain(error.Message, "an error without details");
        return error.Kind switch
        {
            FailureKind.Unavailable => new("containerd_unavailable", cause, BackendUnreachable: true),
            FailureKind.DeadlineExceeded => new("containerd_deadline", cause),
            FailureKind.ResourceExhausted => new("containerd_resource_exhausted", cause),
            _ => new("containerd_error", cause),
        };
    }

    private static string Plain(string message, string fallback) => PlainText.Plain(message, fallback);
}
