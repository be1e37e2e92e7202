using System.Text;
using Serilog;

namespace Imageimportd.Metrics;

/// <summary>
/// Writes the metrics for node_exporter's textfile collector: the whole file replaced atomically (a temp file in the
/// same directory, then rename), so the collector never reads half a file; every <see cref="Interval"/>, and once
/// more when stopping. No listening socket.
/// </summary>
public sealed class MetricsFile(string path, Func<string> render, ILogger log, TimeProvider time)
{
    public static TimeSpan Interval { get; } = TimeSpan.FromSeconds(5);

    public async Task RunAsync(CancellationToken stop)
    {
        var warned = false;
        while (true)
        {
            try
            {
                Write();
                warned = false;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                if (!warned)
                {
                    log.Warning("cannot write metrics to {Path:l}: {Reason:l}; will keep trying", path, ex.Message);
                    warned = true;
                }
            }

            if (stop.IsCancellationRequested)
            {
                return;
            }

            try
            {
                await Task.Delay(Interval, time, stop);
            }
            catch (OperationCanceledException)
            {
                // One last write with the final counts, above.
            }
        }
    }

    public void Write()
    {
        var full = Path.GetFullPath(path);
        var temp = Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.tmp-{Environment.ProcessId}");
        File.WriteAllText(temp, render(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temp, full, overwrite: true);
    }
}
