using Serilog;

namespace Imageimportd.Import;

/// <summary>
/// Shows the imports in flight: on a terminal, one line redrawn every second; in logs, a progress line every
/// <c>logInterval</c> for each file importing at that moment for more than two seconds (small files never produce one).
/// </summary>
public static class ProgressReporter
{
    public static async Task RunAsync(FileImporter importer, ILogger log, bool terminal, TimeSpan logInterval, CancellationToken cancellationToken)
    {
        var interval = terminal ? TimeSpan.FromSeconds(1) : logInterval;
        var drawn = false;
        try
        {
            while (true)
            {
                await Task.Delay(interval, cancellationToken);
                var minimumAge = terminal ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(2);
                var slow = importer.InFlight.Where(p => p.Elapsed >= minimumAge).OrderBy(p => p.Path, StringComparer.Ordinal).ToList();
                if (terminal)
                {
                    await Console.Error.WriteAsync("\r\u001b[K" + string.Join(" | ", slow));
                    drawn = slow.Count > 0;
                    continue;
                }

                foreach (var p in slow)
                {
                    log.ForContext("Outcome", "progress").ForContext("BytesRead", p.ReadBytes).ForContext("BytesTotal", p.TotalBytes)
                        .Information("importing {Progress:l}", p.ToString());
                }
            }
        }
        catch (OperationCanceledException)
        {
            if (drawn)
            {
                await Console.Error.WriteAsync("\r\u001b[K");
            }
        }
    }
}
