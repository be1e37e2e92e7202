using Imageimportd.Import;
using Imageimportd.Queue;

namespace Imageimportd.Observe;

/// <summary>Observes nothing: the daemon without status file or metrics.</summary>
public sealed class NullObserver : IDaemonObserver
{
    public static NullObserver Instance { get; } = new();

    public void Attach(IDaemonView view)
    {
    }

    public void ScanCompleted(bool initial)
    {
    }

    public void FileUnchanged(string path)
    {
    }

    public void ImportStarted(string path)
    {
    }

    public void ImportSucceeded(string path, ImportResult? result, IReadOnlyList<string> images)
    {
    }

    public void ImportFailed(string path, Exception error, ImportOutcomeKind kind, TimeSpan duration)
    {
    }

    public void FileRemoved(string path)
    {
    }

    public void Ready()
    {
    }
}
