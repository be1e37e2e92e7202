using System.Diagnostics;
using System.Text;

namespace Imageimportd.Tests.Harness;

/// <summary>
/// Runs external tools (skopeo, umoci, tar, ctr, ...) without a shell and always under a timeout,
/// so a hung tool fails the test instead of blocking the run.
/// </summary>
public static class Tools
{
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(60);

    /// <summary>Runs the tool; returns stdout as text; throws <see cref="ToolFailedException"/> on a non-zero exit.</summary>
    public static Task<string> RunAsync(string file, IEnumerable<string> args, CancellationToken cancellationToken) =>
        RunAsync(file, args, DefaultTimeout, cancellationToken);

    public static async Task<string> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await RunUncheckedAsync(file, args, timeout, cancellationToken);
        return result.Succeeded ? result.StdoutText : throw new ToolFailedException(result);
    }

    /// <summary>Like <see cref="RunAsync(string, IEnumerable{string}, CancellationToken)"/> but returns raw stdout bytes.</summary>
    public static async Task<byte[]> RunBytesAsync(string file, IEnumerable<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var result = await RunUncheckedAsync(file, args, timeout, cancellationToken);
        return result.Succeeded ? result.Stdout : throw new ToolFailedException(result);
    }

    /// <summary>skopeo with its signature policy bypassed: a fresh CI host may have no /etc/containers/policy.json.</summary>
    public static Task<string> SkopeoAsync(IEnumerable<string> args, CancellationToken cancellationToken) =>
        RunAsync("skopeo", ["--insecure-policy", .. args], cancellationToken);

    public static Task<string> UmociAsync(IEnumerable<string> args, CancellationToken cancellationToken) =>
        RunAsync("umoci", args, cancellationToken);

    /// <summary>Runs the tool and returns whatever happened; throws only on timeout, cancellation or a missing binary.</summary>
    public static async Task<ToolResult> RunUncheckedAsync(string file, IEnumerable<string> args, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var path = Resolve(file);
        var psi = new ProcessStartInfo(path)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        var commandLine = FormatCommandLine(file, psi.ArgumentList);
        using var process = new Process { StartInfo = psi };
        if (!process.Start())
        {
            throw new ToolFailedException($"could not start '{commandLine}'");
        }

        // No tool here reads stdin; closing it stops one that tries from waiting forever.
        process.StandardInput.Close();
        var stdoutTask = ReadAllBytesAsync(process.StandardOutput.BaseStream);
        var stderrTask = process.StandardError.ReadToEndAsync(CancellationToken.None);

        using var timeoutCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutCts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(timeoutCts.Token);
        }
        catch (OperationCanceledException)
        {
            KillTree(process);
            var partialStderr = await stderrTask.WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"'{commandLine}' did not finish within {timeout.TotalSeconds:0.#} s; stderr: {partialStderr.Trim()}");
        }

        var stdout = await stdoutTask.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        var stderr = await stderrTask.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        return new ToolResult(commandLine, process.ExitCode, stdout, stderr);
    }

    /// <summary>Full path of a tool on PATH (or the path itself if it has a slash); throws with an install hint if absent.</summary>
    public static string Resolve(string file)
    {
        if (file.Contains('/', StringComparison.Ordinal))
        {
            return File.Exists(file) ? file : throw new FileNotFoundException($"tool not found: {file} (run scripts/install-deps.sh)", file);
        }

        var pathVar = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        // Test hosts can run with a minimal PATH; the sbin dirs hold runc, umount and friends.
        string[] extra = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
        // The containerd version under test comes first: its containerd and ctr, not the system's.
        string[] chosen = ContainerdBinaries.BinDir is { } binDir ? [binDir] : [];
        foreach (var dir in chosen.Concat(pathVar.Split(':', StringSplitOptions.RemoveEmptyEntries)).Concat(extra))
        {
            var candidate = Path.Combine(dir, file);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException($"tool not found on PATH: {file} (run scripts/install-deps.sh)", file);
    }

    internal static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }

    private static async Task<byte[]> ReadAllBytesAsync(Stream stream)
    {
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, CancellationToken.None);
        return buffer.ToArray();
    }

    private static string FormatCommandLine(string file, IEnumerable<string> args)
    {
        var sb = new StringBuilder(file);
        foreach (var arg in args)
        {
            sb.Append(' ');
            sb.Append(arg.Length == 0 || arg.Any(char.IsWhiteSpace) ? $"'{arg}'" : arg);
        }

        return sb.ToString();
    }
}
