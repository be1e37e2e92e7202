using Serilog;

namespace Imageimportd.Containerd;

/// <summary>Waits for containerd to answer, with capped exponential backoff, saying so once.</summary>
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
                    log.Information("containerd {Version} is up at {Address}", version, client.Options.Address);
                }

                return version;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is ContainerdException or OperationCanceledException)
            {
                if (time.GetElapsedTime(start) + delay > timeout)
                {
                    throw new ContainerdException(ErrorKind.Unavailable, $"containerd at {client.Options.Address} did not answer within {timeout.TotalSeconds:0}s: {ex.Message}", ex);
                }

                if (!said)
                {
                    log.Warning("waiting for containerd at {Address}: {Reason}", client.Options.Address, ex.Message);
                    said = true;
                }

                await Task.Delay(delay, time, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
            }
        }
    }
}
