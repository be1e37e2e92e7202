using Imageimportd.Import;
using Imageimportd.Observe;
using Imageimportd.Queue;

namespace Imageimportd.Tests.Daemon;

/// <summary>An <see cref="IDaemonObserver"/> that keeps its calls as lines ("unchanged /x.tar", "failed /x.tar Permanent"...).</summary>
internal sealed class RecordingObserver : IDaemonObserver
{
    private readonly Lock _gate = new();
    private readonly List<string> _calls = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Until a call satisfying <paramref name="match"/> was made <paramref name="times"/> times (under the test timeout).</summary>
    public async Task WaitForAsync(Func<string, bool> match, int times = 1)
    {
        using var timeout = new CancellationTokenSource(Unit.TimeoutExtensions.Limit);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_calls.Count(match) >= times)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(timeout.Token);
        }
    }

    public Task WaitForAsync(string call, int times = 1) => WaitForAsync(c => c == call, times);

    public void Attach(IDaemonView view) => Add("attach");

    public void ScanCompleted(bool initial) => Add(initial ? "scan initial" : "scan");

    public void FileUnchanged(string path) => Add("unchanged " + path);

    public void ImportStarted(string path) => Add("started " + path);

    public void ImportSucceeded(string path, ImportResult? result, IReadOnlyList<string> images) => Add($"succeeded {path} [{string.Join(", ", images)}]");

    public void ImportFailed(string path, Exception error, ImportOutcomeKind kind, TimeSpan duration) => Add($"failed {path} {kind}");

    public void FileRemoved(string path) => Add("removed " + path);

    public void Ready() => Add("ready");

    private void Add(string call)
    {
        lock (_gate)
        {
            _calls.Add(call);
            var previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            previous.TrySetResult();
        }
    }
}
