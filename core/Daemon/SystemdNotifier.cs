using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Imageimportd.Daemon;

/// <summary>
/// sd_notify(3) without libsystemd: datagrams to <c>$NOTIFY_SOCKET</c> (a path, or an abstract name when it starts
/// with '@'). Contract: when the socket is not set every call is a no-op returning false; a send that fails returns
/// false and never throws, since systemd going away must not take the daemon down with it. Thread-safe.
/// </summary>
public sealed class SystemdNotifier : ISystemdNotifier, IDisposable
{
    private readonly UnixDomainSocketEndPoint? _endpoint;
    private readonly Socket? _socket;
    private readonly Lock _lock = new();

    /// <param name="notifySocket">The value of <c>NOTIFY_SOCKET</c>, or null.</param>
    /// <param name="watchdogUsec">The value of <c>WATCHDOG_USEC</c>, or null.</param>
    /// <param name="watchdogPid">The value of <c>WATCHDOG_PID</c>, or null.</param>
    /// <param name="processId">This process's id, to tell whether the watchdog is meant for us.</param>
    public SystemdNotifier(string? notifySocket, string? watchdogUsec, string? watchdogPid, int processId)
    {
        if (!string.IsNullOrEmpty(notifySocket) && (notifySocket[0] is '/' or '@'))
        {
            // .NET takes a leading NUL as the abstract namespace, which systemd spells '@'.
            var name = notifySocket[0] == '@' ? "\0" + notifySocket[1..] : notifySocket;
            _endpoint = new UnixDomainSocketEndPoint(name);
            _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        }

        WatchdogInterval = ParseWatchdog(watchdogUsec, watchdogPid, processId);
    }

    /// <summary>True when <c>NOTIFY_SOCKET</c> was set: systemd (or something standing in for it) is listening.</summary>
    public bool IsEnabled => _socket is not null;

    /// <summary>
    /// How often to send <c>WATCHDOG=1</c>: half of <c>WATCHDOG_USEC</c>, as sd_watchdog_enabled(3) advises, or null
    /// when no watchdog is set or it is meant for another process (<c>WATCHDOG_PID</c>).
    /// </summary>
    public TimeSpan? WatchdogInterval { get; }

    public static SystemdNotifier FromEnvironment() => new(
        Environment.GetEnvironmentVariable("NOTIFY_SOCKET"),
        Environment.GetEnvironmentVariable("WATCHDOG_USEC"),
        Environment.GetEnvironmentVariable("WATCHDOG_PID"),
        Environment.ProcessId);

    /// <summary>Start-up is complete: sent only after the initial import, which is what units ordered after us wait for.</summary>
    public bool Ready() => Notify("READY=1");

    /// <summary>A one-line status shown by <c>systemctl status</c>.</summary>
    public bool Status(string status) => Notify("STATUS=" + status.ReplaceLineEndings(" "));

    public bool Watchdog() => Notify("WATCHDOG=1");

    public bool Stopping() => Notify("STOPPING=1");

    /// <summary>Sends one datagram of newline-separated assignments; false when disabled or the send failed.</summary>
    public bool Notify(string state)
    {
        if (_socket is null || _endpoint is null)
        {
            return false;
        }

        var bytes = Encoding.UTF8.GetBytes(state);
        lock (_lock)
        {
            try
            {
                return _socket.SendTo(bytes, SocketFlags.None, _endpoint) == bytes.Length;
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                return false;
            }
        }
    }

    public void Dispose() => _socket?.Dispose();

    private static TimeSpan? ParseWatchdog(string? watchdogUsec, string? watchdogPid, int processId)
    {
        if (!long.TryParse(watchdogUsec, NumberStyles.None, CultureInfo.InvariantCulture, out var usec) || usec <= 0)
        {
            return null;
        }

        if (!string.IsNullOrEmpty(watchdogPid)
            && (!int.TryParse(watchdogPid, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || pid != processId))
        {
            return null;
        }

        return TimeSpan.FromMicroseconds(usec / 2.0);
    }
}
