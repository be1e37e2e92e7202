using System.CommandLine;
using System.Diagnostics;
using System.Runtime.InteropServices;
using Imageimportd.Containerd;
using Imageimportd.Errors;
using Imageimportd.Import;
using Imageimportd.Leases;
using Imageimportd.Scan;
using Serilog;

namespace Imageimportd.Cli;

/// <summary>
/// <c>import-once [--images DIR] [FILE...]</c>: one pass, then exit 0 (all good) or 1 (some file failed).
/// SIGTERM/SIGINT abandon the pass: in-flight imports are cancelled (each deletes its lease on the way out, when
/// containerd answers), one line says so, and the process exits 0 like any shutdown, within <see cref="StopGrace"/>.
/// </summary>
internal static class ImportOnceCommand
{
    private const int MaxAttempts = 3;

    /// <summary>How long cancelled imports get to delete their leases after a signal (each delete is bounded at 10 s).</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(15);

    public static Command Create(CommonOptions common)
    {
        var images = new Option<string?>("--images") { Description = "directory of archives to import (recursive, lexical order)", HelpName = "DIR" };
        var parallel = new Option<int>("--parallel") { Description = "files imported at once", DefaultValueFactory = _ => 2, HelpName = "N" };
        var wait = new Option<int>("--wait") { Description = "seconds to wait for containerd to come up", DefaultValueFactory = _ => 60, HelpName = "SECONDS" };
        var files = new Argument<string[]>("FILE") { Description = "archives to import", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("import-once", "Import archives once and exit.") { images, parallel, wait, files };
        command.Validators.Add(result =>
        {
            if (result.GetValue(images) is null && (result.GetValue(files) ?? []).Length == 0)
            {
                result.AddError("give --images DIR, or FILE arguments");
            }

            foreach (var file in result.GetValue(files) ?? [])
            {
                if (file.StartsWith('-'))
                {
                    result.AddError($"unknown option {file}");
                }
            }
        });
        command.SetAction(async (parse, _) =>
        {
            if (parse.GetValue(parallel) < 1)
            {
                await Console.Error.WriteLineAsync("imageimportd: --parallel must be at least 1");
                return ExitCodes.Usage;
            }

            var log = common.Log(parse).Create();
            using var stop = new CancellationTokenSource();
            string? signal = null;
            using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            var cancellationToken = stop.Token;
            var pass = new PassCounts();
            try
            {
                var paths = new List<string>();
                if (parse.GetValue(images) is { } dir)
                {
                    if (!Directory.Exists(dir))
                    {
                        log.Error("images directory {Directory} does not exist", dir);
                        return ExitCodes.SomeFailed;
                    }

                    paths.AddRange(new DirectoryScan(note => log.Warning("{Reason:l}", note)).Find(dir, n => ArchiveNames.IsArchive(n) || ArchiveNames.IsPullList(n)));
                }

                paths.AddRange((parse.GetValue(files) ?? []).Select(Path.GetFullPath));
                var run = RunAsync(log, common.Containerd(parse, log), common.Import(parse, log), common.PullDeadline(parse), paths, parse.GetValue(parallel), TimeSpan.FromSeconds(parse.GetValue(wait)), pass, cancellationToken);
                // After a signal the pass gets StopGrace to unwind (leases deleted); past it, exit anyway: each lease
                // carries an expiry, and the next start removes leases of dead runs.
                var grace = Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => Task.Delay(StopGrace), TaskScheduler.Default).Unwrap();
                if (await Task.WhenAny(run, grace) != run)
                {
                    throw new OperationCanceledException(cancellationToken);
                }

                return await run;
            }
            catch (Exception ex) when (cancellationToken.IsCancellationRequested && ex is OperationCanceledException or BackendException)
            {
                var unfinished = pass.Started - pass.Finished;
                if (pass.Started == 0)
                {
                    log.Information("interrupted by {Signal:l} before any import started", signal);
                }
                else
                {
                    log.Information("interrupted by {Signal:l}: {Unfinished} import(s) abandoned, no image made of them; {Finished} finished", signal, unfinished, pass.Finished);
                }

                return ExitCodes.Ok;
            }
            finally
            {
                (log as IDisposable)?.Dispose();
            }

            void Stop(PosixSignalContext context)
            {
                // Exit on our own once the cancelled imports have deleted their leases.
                context.Cancel = true;
                signal ??= context.Signal == PosixSignal.SIGTERM ? "SIGTERM" : "SIGINT";
                stop.Cancel();
            }
        });
        return command;
    }

    private static async Task<bool> AnswersAsync(ContainerdClient client, CancellationToken cancellationToken)
    {
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        attempt.CancelAfter(TimeSpan.FromSeconds(5));
        try
        {
            await client.GetVersionAsync(attempt.Token);
            return true;
        }
        catch (Exception ex) when (ex is BackendException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task<int> RunAsync(ILogger log, ContainerdOptions containerd, ImportOptions options, TimeSpan pullTimeout, List<string> paths, int parallel, TimeSpan wait, PassCounts pass, CancellationToken cancellationToken)
    {
        if (paths.Count == 0)
        {
            log.Information("nothing to import");
            return ExitCodes.Ok;
        }

        using var client = new ContainerdClient(containerd);
        try
        {
            await ContainerdWaiter.WaitAsync(client, wait, log, TimeProvider.System, cancellationToken);
        }
        catch (BackendException ex)
        {
            log.Error("{Message}", ex.Message);
            return ExitCodes.SomeFailed;
        }

        var backend = new ContainerdBackend(client);
        foreach (var stale in await StaleLeases.RemoveAsync(backend.Leases, ProcProcessTable.Instance, cancellationToken))
        {
            log.Information("removed lease {Lease:l} left by an interrupted import", stale);
        }

        var importer = new FileImporter(backend, options);
        var pulls = PullLists.Create(client, options, parallel, pullTimeout, log);
        var failed = 0;
        using var reporting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var progress = ProgressReporter.RunAsync(importer, log, terminal: !Console.IsErrorRedirected, TimeSpan.FromSeconds(5), reporting.Token);
        await Parallel.ForEachAsync(paths, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (path, ct) =>
        {
            var clock = Stopwatch.StartNew();
            pass.Start();
            try
            {
                if (!RegularFiles.IsRegular(path))
                {
                    throw new IOException("not a regular file");
                }

                // containerd restarting mid-import is a pause, not a failure: wait for it and import again.
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        if (ArchiveNames.IsPullList(Path.GetFileName(path)))
                        {
                            await pulls.HandleAsync(path, ct);
                        }
                        else
                        {
                            ImportLog.Success(log, await importer.ImportAsync(path, ct));
                        }

                        break;
                    }
                    catch (BackendException ex) when (RetryPolicy.IsTransient(ex) && attempt < MaxAttempts && !ct.IsCancellationRequested)
                    {
                        if (ArchiveNames.IsPullList(Path.GetFileName(path)) && await AnswersAsync(client, ct))
                        {
                            // containerd is up, so a registry failed (down, or past --pull-timeout): a second try this
                            // soon would only triple the wait. The daemon retries it later with backoff.
                            throw;
                        }

                        log.Warning("{File:l}: {Reason:l}; retrying when containerd answers (attempt {Attempt} of {Max})", path, ex.Message, attempt + 1, MaxAttempts);
                        // Give containerd's GC, which may have raced us, time to finish before writing again.
                        await Task.Delay(TimeSpan.FromSeconds(attempt), ct);
                        await ContainerdWaiter.WaitAsync(client, wait, log, TimeProvider.System, ct);
                    }
                }

                pass.Finish();
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                pass.Finish();
                Interlocked.Increment(ref failed);
                ImportLog.Failure(log, path, ex, clock.Elapsed);
            }
        });

        await reporting.CancelAsync();
        await progress;
        return failed == 0 ? ExitCodes.Ok : ExitCodes.SomeFailed;
    }
}
