namespace Imageimportd.Errors;

/// <summary>
/// The one place a failure is judged transient (it may pass with the file unchanged: retry later) or permanent (it
/// fails again until the file changes). <c>watch</c>'s queue retries transient failures with backoff; <c>import-once</c>
/// waits for containerd and retries transient backend failures a few times; pull lists report their entries with it.
/// </summary>
public static class RetryPolicy
{
    /// <summary>Whether the failure may pass on its own, the file unchanged.</summary>
    public static bool IsTransient(Exception error) => error switch
    {
        BackendException backend => IsTransient(backend.Kind),
        // The file was replaced or removed between being found and being opened; the next look sees what is there.
        FileNotFoundException => true,
        _ => false,
    };

    /// <summary>
    /// Whether a backend failure of this class passes on its own: the backend is down or restarting, a deadline
    /// passed, a resource ran out, or a race with containerd's GC was lost. The others (bad request, missing object,
    /// unclassified) fail the same way when called again.
    /// </summary>
    public static bool IsTransient(FailureKind kind) =>
        kind is FailureKind.Unavailable or FailureKind.DeadlineExceeded or FailureKind.ResourceExhausted or FailureKind.Aborted;
}
