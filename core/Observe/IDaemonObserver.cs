using Imageimportd.Import;
using Imageimportd.Queue;

namespace Imageimportd.Observe;

/// <summary>
/// What the watch daemon tells the outside about its work (status file, metrics). Contract: calls come from the
/// daemon's scan loop and its workers concurrently, must return at once and must not throw; an observer that needs
/// the queue or the imports in flight polls <see cref="IDaemonView"/>, handed over once by <see cref="Attach"/>.
/// </summary>
public interface IDaemonObserver
{
    /// <summary>Called once when the daemon starts, before any other call.</summary>
    void Attach(IDaemonView view);

    /// <summary>A full scan of the images directory ended.</summary>
    void ScanCompleted(bool initial);

    /// <summary>The initial pass found <paramref name="path"/> unchanged since it was imported (the cache).</summary>
    void FileUnchanged(string path);

    void ImportStarted(string path);

    /// <summary>An archive (with its result) or a pull list (<paramref name="result"/> null, <paramref name="images"/> its names) is in.</summary>
    void ImportSucceeded(string path, ImportResult? result, IReadOnlyList<string> images);

    /// <summary><paramref name="kind"/> says whether it is retried (Transient) or waits for the file to change (Permanent).</summary>
    void ImportFailed(string path, Exception error, ImportOutcomeKind kind, TimeSpan duration);

    /// <summary>The file is gone from the images directory.</summary>
    void FileRemoved(string path);

    /// <summary>The initial pass is done (READY=1).</summary>
    void Ready();
}
