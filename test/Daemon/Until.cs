namespace Imageimportd.Tests.Daemon;

/// <summary>Waits for a condition another thread makes true, and fails (never hangs) when it stays false past the test timeout.</summary>
internal static class Until
{
    public static async Task TrueAsync(Func<bool> condition, string what)
    {
        using var timeout = new CancellationTokenSource(Unit.TimeoutExtensions.Limit);
        while (!condition())
        {
            if (timeout.IsCancellationRequested)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(5), CancellationToken.None);
        }
    }
}
