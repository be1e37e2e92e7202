using Imageimportd.Metrics;
using Imageimportd.Observe;
using Serilog;

namespace Imageimportd.Cli;

/// <summary>
/// The watch daemon's observers as the options ask for them: the state file <c>status</c> reads (always, unless its
/// directory cannot be written: one warning), the metrics file, the metrics HTTP endpoint. Their loops run until
/// disposed, which comes after the daemon has stopped: the metrics file gets its final counts, the state file goes.
/// </summary>
internal sealed class DaemonObservers : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _loops = [];
    private readonly MetricsServer? _server;

    private DaemonObservers(StatusFile? status, DaemonMetrics? metrics, MetricsServer? server, IDaemonObserver observer)
    {
        Status = status;
        Metrics = metrics;
        _server = server;
        Observer = observer;
    }

    public StatusFile? Status { get; }

    public DaemonMetrics? Metrics { get; }

    public IDaemonObserver Observer { get; }

    /// <summary>Throws <see cref="FormatException"/> for a bad metrics address and the socket's error when it cannot bind.</summary>
    public static DaemonObservers Start(string imagesDirectory, string runtimeDirectory, string containerdAddress, string? metricsFile, string? metricsAddress, ILogger log)
    {
        var time = TimeProvider.System;
        var observers = new List<IDaemonObserver>();
        StatusFile? status = null;
        var statePath = StatusPaths.StateFile(runtimeDirectory, imagesDirectory);
        try
        {
            Directory.CreateDirectory(runtimeDirectory);
            foreach (var stale in StatusPaths.RemoveStale(runtimeDirectory))
            {
                log.Debug("removed {Path:l}, left by a daemon that is gone", stale);
            }

            status = new StatusFile(statePath, imagesDirectory, containerdAddress, time);
            status.WriteIfDue();
            observers.Add(status);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log.Warning("cannot write the state file {Path:l} ({Reason:l}); `imageimportd status` will not see this daemon", statePath, ex.Message);
            status = null;
        }

        DaemonMetrics? metrics = null;
        MetricsServer? server = null;
        if (metricsFile is not null || metricsAddress is not null)
        {
            metrics = new DaemonMetrics(time);
            observers.Add(metrics);
            if (metricsAddress is not null)
            {
                server = new MetricsServer(MetricsServer.ParseAddress(metricsAddress), metrics.Render, log);
                server.Start();
                log.Information("serving metrics on http://{Endpoint:l}/metrics", server.Endpoint.ToString());
            }
        }

        var result = new DaemonObservers(status, metrics, server, new CompositeObserver(observers));
        if (status is not null)
        {
            result._loops.Add(status.RunAsync(result._stop.Token));
        }

        if (metrics is not null && metricsFile is not null)
        {
            result._loops.Add(new MetricsFile(metricsFile, metrics.Render, log, time).RunAsync(result._stop.Token));
        }

        if (server is not null)
        {
            result._loops.Add(server.RunAsync(result._stop.Token));
        }

        return result;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        _server?.Dispose();
        _stop.Dispose();
    }
}
