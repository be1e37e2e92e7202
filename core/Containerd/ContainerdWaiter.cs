using Imageimportd.Errors;
using Serilog;

namespace Imageimportd.Containerd;

/// <summary>
/// Waits for containerd to answer, with capped exponential backoff, saying so once. <see cref="Timeout.InfiniteTimeSpan"/>
/// waits for as long as it takes (the daemon); a finite timeout gives up with an Unavailable error (import-once).
/// Cancellation always ends the wait with <see cref="OperationCanceledException"/>, whatever the attempt in flight
/// was failing with (a socket that accepts and never answers fails each attempt as a cancelled call), so a caller
/// shutting down needs to handle one exception type only.
/// </summary>
public static class ContainerdWaiter
{
    public static async Task<string> WaitAsync(ContainerdClient client, TimeSpan timeout, ILogger log, TimeProvider time, CancellationToken cancellationToken)
    {
        var start = time.GetTimestamp();
        var delay = TimeSpan.FromMilliseconds(200);
        var said = false;
        while (true)
        {
            try
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(TimeSpan.FromSeconds(5));
                var version = await client.GetVersionAsync(attempt.Token);
                if (said)
                {
                    log.Information("containerd {Version:l} is up at {Address:l}", version, client.Options.Address);
                }

                return version;
            }
            catch (Exception ex) when (ex is BackendException or OperationCanceledException)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (timeout != Timeout.InfiniteTimeSpan && time.GetElapsedTime(start) + delay > timeout)
                {
                    throw new BackendException(FailureKind.Unavailable, $"containerd at {client.Options.Address} did not answer within {timeout.TotalSeconds:0}s: {Reason(client, ex)}", ex);
                }

                if (!said)
                {
                    log.Warning("waiting for containerd at {Address:l}: {Reason:l}", client.Options.Address, Reason(client, ex));
                    said = true;
                }

                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }

    private static string Reason(ContainerdClient client, Exception ex) =>
        File.Exists(client.SocketPath) ? ex.Message : "no socket there (is containerd running?)";
}
