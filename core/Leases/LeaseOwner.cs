using System.Globalization;

namespace Imageimportd.Leases;

/// <summary>
/// The process that made an import lease, precise enough to tell after a crash whether it still runs: the boot, the
/// PID namespace, the PID and the process's start time, so a reused PID is never taken for the maker and no process
/// name is trusted. Stored as one lease label, <see cref="Label"/> = <c>bootid/pidns/pid/starttime</c>.
/// </summary>
public sealed record LeaseOwner(string BootId, string PidNamespace, int Pid, ulong StartTime)
{
    public const string Label = "io.imageimportd.owner";

    /// <summary>This process, or null when /proc does not say enough (the lease then has no owner label and only expires).</summary>
    public static LeaseOwner? Current(IProcessTable processes)
    {
        var pid = Environment.ProcessId;
        return processes.StartTimeOf(pid) is { } start && processes.BootId.Length > 0 && processes.PidNamespace.Length > 0
            ? new LeaseOwner(processes.BootId, processes.PidNamespace, pid, start)
            : null;
    }

    public static LeaseOwner? Parse(string text)
    {
        var parts = text.Split('/');
        return parts.Length == 4
            && parts[0].Length > 0 && parts[1].Length > 0
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            && ulong.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            ? new LeaseOwner(parts[0], parts[1], pid, start)
            : null;
    }

    /// <summary>
    /// Whether the maker is gone for sure: another boot, or in this PID namespace no process with its PID and start
    /// time. A maker in another PID namespace (a containerized imageimportd beside one on the host) cannot be seen,
    /// so its lease is left to its expiry label.
    /// </summary>
    public bool IsGone(IProcessTable processes)
    {
        if (!string.Equals(BootId, processes.BootId, StringComparison.Ordinal))
        {
            return true;
        }

        return string.Equals(PidNamespace, processes.PidNamespace, StringComparison.Ordinal)
            && processes.StartTimeOf(Pid) != StartTime;
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{BootId}/{PidNamespace}/{Pid}/{StartTime}");
}
