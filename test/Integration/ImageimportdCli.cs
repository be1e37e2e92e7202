using System.Diagnostics;
using Imageimportd.Tests.Harness;

namespace Imageimportd.Tests.Integration;

/// <summary>Runs the published NativeAOT binary, out/imageimportd, as a user or a script would.</summary>
internal static class ImageimportdCli
{
    public static string BinaryPath => Path.Combine(RepoPaths.Root, "out", "imageimportd");

    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public string Output => Stdout + Stderr;
    }

    /// <summary>Runs <c>imageimportd ARGS --address SOCK --namespace NS</c> with a timeout.</summary>
    public static async Task<Result> RunAsync(ContainerdInstance containerd, string ns, params string[] args) =>
        await RunRawAsync([.. args, "--address", containerd.Address, "--namespace", ns]);

    /// <param name="program">Another program to run instead (e.g. <c>setpriv</c> wrapping the binary).</param>
    public static async Task<Result> RunRawAsync(IEnumerable<string> args, TimeSpan? timeout = null, IReadOnlyDictionary<string, string>? env = null, string? program = null)
    {
        if (!File.Exists(BinaryPath))
        {
            throw new FileNotFoundException($"{BinaryPath} is missing: run `make build` first");
        }

        var psi = new ProcessStartInfo(program ?? BinaryPath) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("JOURNAL_STREAM");
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(180));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"imageimportd {string.Join(' ', args)} did not exit in time: {await stderr}");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
