using Imageimportd.Import;
using Imageimportd.Queue;

namespace Imageimportd.Observe;

/// <summary>Hands every call to each observer in turn.</summary>
public sealed class CompositeObserver(IReadOnlyList<IDaemonObserver> observers) : IDaemonObserver
{
    public void Attach(IDaemonView view)
    {
        foreach (var o in observers)
        {
            o.Attach(view);
        }
    }

    public void ScanCompleted(bool initial)
    {
        foreach (var o in observers)
        {
            o.ScanCompleted(initial);
        }
    }

    public void FileUnchanged(string path)
    {
        foreach (var o in observers)
        {
            o.FileUnchanged(path);
        }
    }

    public void ImportStarted(string path)
    {
        foreach (var o in observers)
        {
            o.ImportStarted(path);
        }
    }

    public void ImportSucceeded(string path, ImportResult? result, IReadOnlyList<string> images)
    {
        foreach (var o in observers)
        {
            o.ImportSucceeded(path, result, images);
        }
    }

    public void ImportFailed(string path, Exception error, ImportOutcomeKind kind, TimeSpan duration)
    {
        foreach (var o in observers)
        {
            o.ImportFailed(path, error, kind, duration);
        }
    }

    public void FileRemoved(string path)
    {
        foreach (var o in observers)
        {
            o.FileRemoved(path);
        }
    }

    public void Ready()
    {
        foreach (var o in observers)
        {
            o.Ready();
        }
    }
}
