using System.Globalization;
using Imageimportd.Import;

namespace Imageimportd.Leases;

/// <summary>
/// Removes import leases left by an imageimportd that was killed mid-import, so their partial content is collected
/// now rather than when the lease's expiry passes. A lease is stale when the process that made it is gone.
/// </summary>
public static class StaleLeases
{
    public static async Task<IReadOnlyList<string>> RemoveAsync(ILeaseManager leases, Func<int, bool> isAlive, CancellationToken cancellationToken)
    {
        var removed = new List<string>();
        var ours = await leases.ListAsync([$"labels.\"{FileImporter.LeasePidLabel}\""], cancellationToken);
        foreach (var (id, labels) in ours)
        {
            if (labels.TryGetValue(FileImporter.LeasePidLabel, out var pidText)
                && int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && !isAlive(pid))
            {
                await leases.DeleteAsync(id, cancellationToken);
                removed.Add(id);
            }
        }

        return removed;
    }

    /// <summary>True when a process with this pid exists and is an imageimportd.</summary>
    public static bool IsImageimportdAlive(int pid)
    {
        if (pid == Environment.ProcessId)
        {
            return true;
        }

        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim() is "imageimportd" or "dotnet" or "testhost";
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }
}
