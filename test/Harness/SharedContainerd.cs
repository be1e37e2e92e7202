using System.Text;

namespace Imageimportd.Tests.Harness;

/// <summary>
/// One containerd for the whole test run, started on first use and stopped by
/// <see cref="Imageimportd.Tests.SharedContainerdTeardown"/>. Tests isolate themselves by namespace
/// (<see cref="NewNamespace"/>). Tests that kill or restart containerd must start their own
/// <see cref="ContainerdInstance"/> instead.
/// </summary>
public static class SharedContainerd
{
    private static readonly Lock Gate = new();
    private static Task<ContainerdInstance>? _instance;
    private static int _namespaceCounter;
    private static bool _exitHookInstalled;

    /// <summary>
    /// The shared instance. A failed start is remembered, so every later caller fails fast with
    /// the same message (including the containerd log tail) instead of retrying for 20 s each.
    /// </summary>
    public static Task<ContainerdInstance> GetAsync(CancellationToken cancellationToken = default)
    {
        lock (Gate)
        {
            if (!_exitHookInstalled)
            {
                // Backstop for runs that never reach the SetUpFixture teardown (e.g. the test host is aborted).
                AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAsync().Wait(TimeSpan.FromSeconds(20));
                _exitHookInstalled = true;
            }

            // Not the caller's token: the instance outlives any single test.
            _instance ??= ContainerdInstance.StartAsync(CancellationToken.None);
            return _instance.WaitAsync(cancellationToken);
        }
    }

    /// <summary>A containerd namespace name no other test in this run uses, e.g. "import-3-1a2b3c".</summary>
    public static string NewNamespace(string prefix = "test")
    {
        // containerd namespaces: [A-Za-z0-9]+ separated by single '.', '_' or '-', at most 76 chars.
        var clean = new StringBuilder();
        foreach (var c in prefix)
        {
            var ok = char.IsAsciiLetterOrDigit(c);
            if (ok || (clean.Length > 0 && clean[^1] != '-'))
            {
                clean.Append(ok ? c : '-');
            }
        }

        var stem = clean.ToString().Trim('-');
        if (stem.Length == 0)
        {
            stem = "test";
        }

        var n = Interlocked.Increment(ref _namespaceCounter);
        var suffix = $"-{n}-{Guid.NewGuid().ToString("N")[..6]}";
        return stem[..Math.Min(stem.Length, 76 - suffix.Length)].TrimEnd('-') + suffix;
    }

    /// <summary>A ctr runner on the shared instance, in a fresh namespace.</summary>
    public static async Task<Ctr> NewCtrAsync(string prefix = "test", CancellationToken cancellationToken = default)
    {
        var instance = await GetAsync(cancellationToken);
        return instance.CtrFor(NewNamespace(prefix));
    }

    /// <summary>Stops and deletes the shared instance if one was started. Safe to call more than once.</summary>
    public static async Task StopAsync()
    {
        Task<ContainerdInstance>? started;
        lock (Gate)
        {
            started = _instance;
            _instance = null;
        }

        if (started is null)
        {
            return;
        }

        try
        {
            var instance = await started;
            await instance.DisposeAsync();
        }
        catch (Exception)
        {
            // It never started; its own cleanup already ran.
        }
    }
}
