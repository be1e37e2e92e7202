namespace Imageimportd.Daemon;

/// <summary>
/// What the daemon tells its service manager (sd_notify(3)). Contract: every call returns at once and never throws;
/// false means nothing was delivered (no manager listening, or the send failed), which the daemon ignores.
/// </summary>
public interface ISystemdNotifier
{
    /// <summary>How often <c>WATCHDOG=1</c> is expected; null when no watchdog is set for this process.</summary>
    TimeSpan? WatchdogInterval { get; }

    /// <summary><c>READY=1</c>: start-up is complete.</summary>
    bool Ready();

    /// <summary><c>STATUS=</c>: one line for <c>systemctl status</c>.</summary>
    bool Status(string status);

    /// <summary><c>WATCHDOG=1</c>: still alive.</summary>
    bool Watchdog();

    /// <summary><c>STOPPING=1</c>: the shutdown began.</summary>
    bool Stopping();
}
