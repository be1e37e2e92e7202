using System.Globalization;

namespace Imageimportd.Leases;

/// <summary><see cref="IProcessTable"/> from /proc.</summary>
public sealed class ProcProcessTable : IProcessTable
{
    public static ProcProcessTable Instance { get; } = new();

    private ProcProcessTable()
    {
        BootId = ReadOrEmpty(() => File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim());
        PidNamespace = ReadOrEmpty(() => new FileInfo("/proc/self/ns/pid").LinkTarget ?? string.Empty);
    }

    public string BootId { get; }

    public string PidNamespace { get; }

    public ulong? StartTimeOf(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        return ParseStartTime(stat);
    }

    /// <summary>Field 22 of /proc/PID/stat. The command name (field 2) may hold spaces and parentheses, so fields are counted after its last ')'.</summary>
    internal static ulong? ParseStartTime(string stat)
    {
        var close = stat.LastIndexOf(')');
        if (close < 0)
        {
            return null;
        }

        // After ") " come field 3 (state) onwards: field 22 is the 20th.
        var fields = stat[(close + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 20 && ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks) ? ticks : null;
    }

    private static string ReadOrEmpty(Func<string> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return string.Empty;
        }
    }
}
