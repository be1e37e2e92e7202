namespace Imageimportd.Leases;

/// <summary>
/// What the kernel says about processes, as much as stale-lease detection needs. Contract: <see cref="StartTimeOf"/>
/// is null for a PID that does not exist in this PID namespace; a value is stable for the life of that process and
/// differs for a later process that reuses the PID.
/// </summary>
public interface IProcessTable
{
    /// <summary>This boot's id (changes at every reboot).</summary>
    string BootId { get; }

    /// <summary>The PID namespace this process runs in, as the kernel names it (e.g. <c>pid:[4026531836]</c>).</summary>
    string PidNamespace { get; }

    /// <summary>The start time of <paramref name="pid"/> in clock ticks since boot, or null when no such process.</summary>
    ulong? StartTimeOf(int pid);
}
