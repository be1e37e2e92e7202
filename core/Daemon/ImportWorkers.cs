using Imageimportd.Errors;
using Imageimportd.Import;
using Imageimportd.Observe;
using Imageimportd.Queue;
using Imageimportd.Scan;
using Serilog;

namespace Imageimportd.Daemon;

/// <summary>
/// The import workers: loops that take due files from the queue, one file each at a time, and report how each ended.
/// Contract:
/// <list type="bullet">
/// <item>A file the cache holds as imported in its current state is a success without work. An archive goes through
/// <see cref="FileImporter"/>, a <c>.txt</c> pull list through <see cref="IPullListHandler"/> (without one, a pull list
/// is a success that does nothing).</item>
/// <item>A success is recorded (<see cref="ImagePinKeeper.RecordAsync"/>) before the queue hears of it. A failure is
/// logged once (<see cref="ImportLog"/>) and classified by <see cref="Classify"/>: transient is retried by the queue
/// with backoff, permanent parks the file until it changes.</item>
/// <item>A file deleted before its import opened it is no failure (transient: the removal settles it).</item>
/// <item><c>stop</c> ends each loop once its file is done; <c>abort</c> cancels the imports in flight (each deletes its
/// own lease), reported as transient so the file is imported at the next start.</item>
/// <item>After each completion READY is checked (<see cref="Readiness.CheckReady"/>) and, when nothing is pending
/// (a pass ended), the cache is written.</item>
/// </list>
/// </summary>
public sealed class ImportWorkers
{
    private readonly int _count;
    private readonly ImportQueue _queue;
    private readonly FileImporter _importer;
    private readonly IPullListHandler? _pulls;
    private readonly ImagePinKeeper _keeper;
    private readonly Readiness _readiness;
    private readonly IDaemonObserver _observer;
    private readonly ILogger _log;
    private readonly TimeProvider _time;

    /// <param name="count">How many loops (files imported at once); at least one.</param>
    public ImportWorkers(int count, ImportQueue queue, FileImporter importer, IPullListHandler? pulls, ImagePinKeeper keeper, Readiness readiness, IDaemonObserver observer, ILogger log, TimeProvider time)
    {
        _count = Math.Max(1, count);
        _queue = queue;
        _importer = importer;
        _pulls = pulls;
        _keeper = keeper;
        _readiness = readiness;
        _observer = observer;
        _log = log;
        _time = time;
    }

    /// <summary>
    /// What a failed import means for the file: the one place that decides transient or permanent. A gRPC failure
    /// containerd may get over, or a file gone mid-import, is transient; anything about the file itself is permanent.
    /// </summary>
    public static ImportOutcomeKind Classify(Exception error) =>
        RetryPolicy.IsTransient(error) ? ImportOutcomeKind.Transient : ImportOutcomeKind.Permanent;

    /// <summary>Runs the loops until <paramref name="stop"/>; see the contract for <paramref name="abort"/>.</summary>
    public Task RunAsync(CancellationToken stop, CancellationToken abort) =>
        Task.WhenAll(Enumerable.Range(0, _count).Select(_ => WorkAsync(stop, abort)));

    private async Task WorkAsync(CancellationToken stop, CancellationToken abort)
    {
        while (!stop.IsCancellationRequested)
        {
            QueueItem item;
            try
            {
                item = await _queue.DequeueAsync(stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            var outcome = await ProcessAsync(item, abort);
            _queue.Complete(item, outcome);
            _readiness.CheckReady();
            if (_queue.PendingCount == 0)
            {
                // The end of a pass: what the batching held back is written now.
                _keeper.Flush();
            }
        }
    }

    private async Task<ImportOutcomeKind> ProcessAsync(QueueItem item, CancellationToken cancellationToken)
    {
        var path = item.Path;
        if (_keeper.IsImported(path, item.Stamp))
        {
            return ImportOutcomeKind.Success;
        }

        var clock = _time.GetTimestamp();
        _readiness.Importing(path);
        _observer.ImportStarted(path);
        try
        {
            IReadOnlyList<string> names;
            ImportResult? result = null;
            if (ArchiveNames.IsPullList(Path.GetFileName(path)))
            {
                if (_pulls is null)
                {
                    return ImportOutcomeKind.Success;
                }

                names = await _pulls.HandleAsync(path, cancellationToken);
            }
            else
            {
                result = await _importer.ImportAsync(path, cancellationToken);
                ImportLog.Success(_log, result);
                names = result.Images.Select(i => i.Name).ToList();
            }

            _readiness.FileImported();
            await _keeper.RecordAsync(path, item.Stamp, names, cancellationToken);
            _observer.ImportSucceeded(path, result, names);
            return ImportOutcomeKind.Success;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _log.Warning("aborted {File:l}: shutdown timeout; it will be imported at the next start", path);
            return ImportOutcomeKind.Transient;
        }
        catch (FileNotFoundException) when (SafeFile.Stat(path) is null)
        {
            // Deleted between the queue handing it out and the import opening it: nothing was read, so nothing failed;
            // the scan's (or the watcher's) removal unpins what it supplied before.
            _log.Information("{File:l} was removed before its import read it", path);
            return ImportOutcomeKind.Transient;
        }
        catch (Exception ex)
        {
            ImportLog.Failure(_log, path, ex, _time.GetElapsedTime(clock));
            var kind = Classify(ex);
            _observer.ImportFailed(path, ex, kind, _time.GetElapsedTime(clock));
            return kind;
        }
    }
}
