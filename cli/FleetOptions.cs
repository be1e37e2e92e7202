using System.CommandLine;
using Imageimportd.Observe;
using Serilog;

namespace Imageimportd.Cli;

/// <summary><c>watch</c>'s options for running on many nodes: the runtime directory of the state file, metrics.</summary>
internal sealed class FleetOptions
{
    public Option<string?> RuntimeDir { get; } = RuntimeDirOption();

    public Option<string?> MetricsFile { get; } = new("--metrics-file")
    {
        Description = "write Prometheus metrics to this file (atomically, every 5 s) for node_exporter's textfile collector",
        HelpName = "PATH",
    };

    public Option<string?> MetricsAddress { get; } = new("--metrics-address")
    {
        Description = "serve Prometheus metrics at http://HOST:PORT/metrics (HOST defaults to 127.0.0.1)",
        HelpName = "HOST:PORT",
    };

    public FleetOptions()
    {
        MetricsAddress.Validators.Add(result =>
        {
            try
            {
                _ = Metrics.MetricsServer.ParseAddress(result.GetValueOrDefault<string?>() ?? "0");
            }
            catch (FormatException ex)
            {
                result.AddError(ex.Message);
            }
        });
    }

    public static Option<string?> RuntimeDirOption() => new("--runtime-dir")
    {
        Description = $"directory of the daemon's state file, read by `status` (env {StatusPaths.RuntimeDirectoryVariable}; default {StatusPaths.DefaultRuntimeDirectory})",
        HelpName = "DIR",
    };

    public DaemonObservers Start(ParseResult parse, string imagesDirectory, string containerdAddress, ILogger log) =>
        DaemonObservers.Start(
            imagesDirectory,
            StatusPaths.RuntimeDirectory(parse.GetValue(RuntimeDir)),
            containerdAddress,
            parse.GetValue(MetricsFile) is { } file ? Path.GetFullPath(file) : null,
            parse.GetValue(MetricsAddress),
            log);
}
