using Imageimportd.Daemon;

namespace Imageimportd.Tests.Daemon;

/// <summary>An <see cref="ISystemdNotifier"/> that keeps what it was told, in order (READY=1, STATUS=…, WATCHDOG=1, STOPPING=1).</summary>
internal sealed class RecordingNotifier(TimeSpan? watchdogInterval = null) : ISystemdNotifier
{
    private readonly Lock _gate = new();
    private readonly List<string> _sent = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TimeSpan? WatchdogInterval { get; } = watchdogInterval;

    public IReadOnlyList<string> Sent
    {
        get
        {
            lock (_gate)
            {
                return [.. _sent];
            }
        }
    }

    public bool Ready() => Send("READY=1");

    public bool Status(string status) => Send("STATUS=" + status);

    public bool Watchdog() => Send("WATCHDOG=1");

    public bool Stopping() => Send("STOPPING=1");

    /// <summary>Until <paramref name="message"/> was sent <paramref name="times"/> times (under the test timeout).</summary>
    public async Task WaitForAsync(string message, int times = 1)
    {
        using var timeout = new CancellationTokenSource(Unit.TimeoutExtensions.Limit);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                if (_sent.Count(s => s == message) >= times)
                {
                    return;
                }

                changed = _changed.Task;
            }

            await changed.WaitAsync(timeout.Token);
        }
    }

    private bool Send(string message)
    {
        lock (_gate)
        {
            _sent.Add(message);
            var previous = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            previous.TrySetResult();
        }

        return true;
    }
}
