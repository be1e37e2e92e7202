using System.CommandLine;
using System.Runtime.InteropServices;
using Imageimportd.Cache;
using Imageimportd.Containerd;
using Imageimportd.Daemon;
using Imageimportd.Errors;
using Imageimportd.Import;
using Imageimportd.Leases;

namespace Imageimportd.Cli;

/// <summary><c>watch --images DIR</c>: the daemon. SIGTERM/SIGINT stop it cleanly with exit 0.</summary>
internal static class WatchCommand
{
    public static Command Create(CommonOptions common)
    {
        var images = new Option<string>("--images") { Description = "directory to watch (recursive; may not exist yet)", Required = true, HelpName = "DIR" };
        var cacheFile = new Option<string?>("--cache-file") { Description = "import cache (default DIR/.cache.json)", HelpName = "PATH" };
        var noCache = new Option<bool>("--no-cache") { Description = "keep no import cache: every start re-checks every file" };
        var scanInterval = new Option<double>("--scan-interval") { Description = "seconds between full scans", DefaultValueFactory = _ => 30, HelpName = "SECONDS" };
        var settle = new Option<double>("--settle") { Description = "seconds a file's size and mtime must be stable before it is imported", DefaultValueFactory = _ => 2, HelpName = "SECONDS" };
        var parallel = new Option<int>("--parallel") { Description = "files imported at once", DefaultValueFactory = _ => 2, HelpName = "N" };
        var shutdown = new Option<double>("--shutdown-timeout") { Description = "seconds in-flight imports may finish after SIGTERM", DefaultValueFactory = _ => 10, HelpName = "SECONDS" };
        var fleet = new FleetOptions();
        var command = new Command("watch", "Watch a directory and import what appears or changes; pins follow files.")
        {
            images, cacheFile, noCache, scanInterval, settle, parallel, shutdown, fleet.RuntimeDir, fleet.MetricsFile, fleet.MetricsAddress,
        };
        command.SetAction(async (parse, _) =>
        {
            if (parse.GetValue(parallel) < 1 || parse.GetValue(scanInterval) <= 0 || parse.GetValue(settle) < 0 || parse.GetValue(shutdown) < 0)
            {
                await Console.Error.WriteLineAsync("imageimportd: --parallel must be at least 1; intervals must be positive");
                return ExitCodes.Usage;
            }

            var log = common.Log(parse).Create();
            using var stop = new CancellationTokenSource();
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var notifier = SystemdNotifier.FromEnvironment();
            try
            {
                var dir = Path.GetFullPath(parse.GetValue(images)!);
                var options = new WatchOptions
                {
                    ImagesDirectory = dir,
                    CachePath = parse.GetValue(noCache) ? null : Path.GetFullPath(parse.GetValue(cacheFile) ?? ImportCache.DefaultPath(dir)),
                    ScanInterval = TimeSpan.FromSeconds(parse.GetValue(scanInterval)),
                    SettleTime = TimeSpan.FromSeconds(parse.GetValue(settle)),
                    Parallel = parse.GetValue(parallel),
                    ShutdownTimeout = TimeSpan.FromSeconds(parse.GetValue(shutdown)),
                };
                var containerd = common.Containerd(parse, log);
                await using var observers = fleet.Start(parse, dir, containerd.Address, log);
                using var client = new ContainerdClient(containerd);
                notifier.Status("waiting for containerd");
                await ContainerdWaiter.WaitAsync(client, Timeout.InfiniteTimeSpan, log, TimeProvider.System, stop.Token);
                observers.Status?.ContainerdReachable(true);
                var backend = new ContainerdBackend(client);
                foreach (var stale in await StaleLeases.RemoveAsync(backend.Leases, ProcProcessTable.Instance, stop.Token))
                {
                    log.Information("removed lease {Lease:l} left by an interrupted import", stale);
                }

                using var daemon = WatchDaemonFactory.Create(backend, common.Import(parse, log), options, PullLists.Create(client, common.Import(parse), options.Parallel, common.PullDeadline(parse), log), notifier, log, TimeProvider.System, observer: observers.Observer);
                await daemon.RunAsync(stop.Token);
                return ExitCodes.Ok;
            }
            catch (System.Net.Sockets.SocketException ex)
            {
                // Only the metrics listener opens a socket of ours: a port in use or an address not on this host.
                log.Error("cannot serve metrics on {Address:l}: {Reason:l}", parse.GetValue(fleet.MetricsAddress), ex.Message);
                return ExitCodes.SomeFailed;
            }
            catch (Exception ex) when (stop.IsCancellationRequested && ex is OperationCanceledException or BackendException)
            {
                // A signal during the wait for containerd or the stale-lease sweep is a shutdown like any other: a call
                // cut by it fails as a cancelled gRPC call, not only as OperationCanceledException.
                notifier.Stopping();
                log.Information("stopped");
                return ExitCodes.Ok;
            }
            finally
            {
                (log as IDisposable)?.Dispose();
            }

            void Stop(PosixSignalContext context)
            {
                // We exit on our own once in-flight imports are settled and the cache is written.
                context.Cancel = true;
                stop.Cancel();
            }
        });
        return command;
    }
}
