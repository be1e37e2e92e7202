using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Imageimportd.Tests.Harness;

/// <summary>
/// A private containerd (CRI on, overlayfs) in its own temp dir, of the version <see cref="ContainerdBinaries"/>
/// chose, with the config rendered from that version's template like scripts/containerd-sandbox.sh does.
/// Needs root. Start failures throw with the log tail: tests fail, never skip.
/// </summary>
public sealed class ContainerdInstance : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    // sun_path holds 108 bytes including the NUL; the ttrpc socket is our longest path.
    private const int MaxSocketPath = 107;
    private const string LongestSocketName = "containerd.sock.ttrpc";

    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private Process? _process;
    private bool _disposed;

    private ContainerdInstance(string dir)
    {
        Dir = dir;
    }

    public string Dir { get; }

    /// <summary>The gRPC unix socket path (what imageimportd and ctr --address take).</summary>
    public string Address => Path.Combine(Dir, "containerd.sock");

    public string ConfigPath => Path.Combine(Dir, "config.toml");

    public string LogPath => Path.Combine(Dir, "containerd.log");

    /// <summary>CRI registry hosts dir: write &lt;host:port&gt;/hosts.toml here to redirect pulls.</summary>
    public string CertsDir => Path.Combine(Dir, "certs.d");

    /// <summary>PID of the current containerd process, 0 when not running.</summary>
    public int Pid { get; private set; }

    /// <summary>containerd's version, as <c>containerd --version</c> reports it (e.g. "1.7.24~ds1").</summary>
    public static string ContainerdVersionText => ContainerdBinaries.VersionText;

    /// <summary>Major.minor.patch of the containerd version, for expectations that differ by version.</summary>
    public static Version ContainerdVersion => ContainerdBinaries.Version;

    public bool IsRunning => _process is { HasExited: false };

    public static async Task<ContainerdInstance> StartAsync(CancellationToken cancellationToken = default)
    {
        var instance = new ContainerdInstance(CreateShortTempDir());
        try
        {
            instance.RenderConfig();
            await instance.LaunchAsync(cancellationToken);
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    /// <summary>A ctr runner for this instance in the given namespace.</summary>
    public Ctr CtrFor(string containerdNamespace) => new(Address, containerdNamespace);

    /// <summary>Stops containerd (TERM, then KILL after 10 s) and starts it again on the same root and state.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            await StopProcessAsync();
            await Mounts.UnmountUnderAsync(Dir, cancellationToken);
            await LaunchCoreAsync(cancellationToken);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>SIGKILL, no cleanup: simulates a crash. Call <see cref="RestartAsync"/> to bring it back.</summary>
    public void Kill()
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        try
        {
            process.Kill();
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    /// <summary>Stops containerd gracefully (TERM, wait 10 s, KILL) and leaves the dir in place.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            await StopProcessAsync();
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>The last <paramref name="lines"/> lines of containerd's log.</summary>
    public string LogTail(int lines = 40) => ReadTail(LogPath, lines);

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await StopProcessAsync();
        var stuck = await Mounts.UnmountUnderAsync(Dir);
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Teardown must not mask the test's own result; say what leaked instead.
            await Console.Error.WriteLineAsync($"ContainerdInstance: could not delete {Dir} ({e.Message}); still mounted: {string.Join(", ", stuck)}");
        }

        _lifecycle.Dispose();
    }

    internal static string ReadTail(string path, int lines)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            const int MaxBytes = 64 * 1024;
            if (stream.Length > MaxBytes)
            {
                stream.Seek(-MaxBytes, SeekOrigin.End);
            }

            using var reader = new StreamReader(stream, Encoding.UTF8);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines + 1)).TrimEnd();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"(no log at {path}: {e.Message})";
        }
    }

    private static string CreateShortTempDir()
    {
        // Prefer the configured temp dir, but a deep TMPDIR would overflow sun_path; /tmp is short.
        foreach (var baseDir in new[] { Path.GetTempPath(), "/tmp" })
        {
            var candidate = Path.Combine(baseDir, "ctd-" + Guid.NewGuid().ToString("N")[..8]);
            if (Path.Combine(candidate, LongestSocketName).Length <= MaxSocketPath)
            {
                Directory.CreateDirectory(candidate);
                return candidate;
            }
        }

        throw new InvalidOperationException("no temp dir short enough for a unix socket path");
    }

    private void RenderConfig()
    {
        var template = File.ReadAllText(ContainerdBinaries.ConfigTemplate);
        File.WriteAllText(ConfigPath, template.Replace("@DIR@", Dir, StringComparison.Ordinal));
        foreach (var sub in new[] { "root", "state", "certs.d", "cni/bin", "cni/net.d", "opt" })
        {
            Directory.CreateDirectory(Path.Combine(Dir, sub));
        }
    }

    private async Task LaunchAsync(CancellationToken cancellationToken)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            await LaunchCoreAsync(cancellationToken);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    private async Task LaunchCoreAsync(CancellationToken cancellationToken)
    {
        // sh only sets up the log redirection and then execs, so the PID is containerd's and
        // containerd writes its log itself (no pump in this process to stall or die with it).
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" --config \"$1\" </dev/null >>\"$2\" 2>&1");
        psi.ArgumentList.Add(ContainerdBinaries.Containerd);
        psi.ArgumentList.Add(ConfigPath);
        psi.ArgumentList.Add(LogPath);
        // containerd looks its shim up on PATH: the version under test's own shim.
        psi.Environment["PATH"] = ContainerdBinaries.ProcessPath;

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start containerd");
        _process = process;
        Pid = process.Id;
        // Same PID file the sandbox script uses, so `containerd-sandbox.sh stop DIR` also works on a leaked instance.
        await File.WriteAllTextAsync(Path.Combine(Dir, "containerd.pid"), Pid.ToString(CultureInfo.InvariantCulture) + "\n", cancellationToken);

        var probe = new Ctr(Address, "default") { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        string lastError = string.Empty;
        while (true)
        {
            if (process.HasExited)
            {
                var code = process.ExitCode;
                ForgetProcess();
                throw new InvalidOperationException(
                    $"containerd exited with code {code} during startup (dir {Dir}); log tail:\n{LogTail()}");
            }

            try
            {
                // ctr waits 10 s for a missing socket by default; poll faster than that.
                var result = await probe.RunUncheckedAsync(["--connect-timeout", "1s", "version"], cancellationToken);
                if (result.Succeeded)
                {
                    return;
                }

                lastError = result.Stderr.Trim();
            }
            catch (TimeoutException e)
            {
                lastError = e.Message;
            }

            if (deadline.Elapsed > ReadyTimeout)
            {
                Tools.KillTree(process);
                ForgetProcess();
                throw new TimeoutException(
                    $"containerd not ready after {ReadyTimeout.TotalSeconds:0} s (dir {Dir}); ctr: {lastError}; log tail:\n{LogTail()}");
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    private async Task StopProcessAsync()
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        if (!process.HasExited)
        {
            // .NET has no SIGTERM API; kill(1) from procps does it.
            await Tools.RunUncheckedAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(5), CancellationToken.None);
            using var cts = new CancellationTokenSource(StopTimeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                await Console.Error.WriteLineAsync($"ContainerdInstance: pid {process.Id} ignored SIGTERM for {StopTimeout.TotalSeconds:0} s; sending SIGKILL");
                Tools.KillTree(process);
            }
        }

        ForgetProcess();
    }

    private void ForgetProcess()
    {
        _process?.Dispose();
        _process = null;
        Pid = 0;
        File.Delete(Path.Combine(Dir, "containerd.pid"));
    }
}
