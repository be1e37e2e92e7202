using System.Diagnostics;

namespace Imageimportd.Tests.Harness;

/// <summary>
/// Which containerd the tests run: the system's (Debian bookworm's 1.6) unless
/// <c>IMAGEIMPORTD_TEST_CONTAINERD_BIN</c> names a directory holding another version's <c>containerd</c>,
/// <c>ctr</c> and <c>containerd-shim-runc-v2</c> (scripts/fetch-containerd.sh prints one). Every harness
/// process takes its containerd and ctr from here, so one test run is one containerd version.
/// </summary>
public static class ContainerdBinaries
{
    public const string BinDirVariable = "IMAGEIMPORTD_TEST_CONTAINERD_BIN";

    private static readonly Lazy<(string Text, Version Version)> VersionLazy = new(ReadVersion);

    /// <summary>The chosen version's directory, or null for the system's containerd on PATH.</summary>
    public static string? BinDir
    {
        get
        {
            var dir = Environment.GetEnvironmentVariable(BinDirVariable);
            return string.IsNullOrEmpty(dir) ? null : Path.GetFullPath(dir);
        }
    }

    /// <summary>The version as <c>containerd --version</c> reports it, e.g. "1.7.24~ds1" or "2.1.9+unknown".</summary>
    public static string VersionText => VersionLazy.Value.Text;

    /// <summary>Major.minor.patch of <see cref="VersionText"/>, for tests whose expectation differs by version.</summary>
    public static Version Version => VersionLazy.Value.Version;

    /// <summary>
    /// The config template for this version: 2.x reads the version 3 layout (containerd-config-v3.toml.in),
    /// 1.6 and 1.7 the version 2 one; scripts/containerd-sandbox.sh chooses the same way.
    /// </summary>
    public static string ConfigTemplate => Path.Combine(
        RepoPaths.Root, "scripts", Version.Major >= 2 ? "containerd-config-v3.toml.in" : "containerd-config.toml.in");

    /// <summary>Full path of the containerd executable.</summary>
    public static string Containerd => Tools.Resolve("containerd");

    /// <summary>Full path of this version's ctr.</summary>
    public static string Ctr => Tools.Resolve("ctr");

    /// <summary>
    /// The PATH containerd runs with: the chosen version's directory first, so it starts that version's
    /// containerd-shim-runc-v2 (runc comes from the system).
    /// </summary>
    public static string ProcessPath
    {
        get
        {
            var path = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
            return BinDir is { } dir ? dir + ":" + path : path;
        }
    }

    private static (string Text, Version Version) ReadVersion()
    {
        // "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3"
        // "containerd github.com/containerd/containerd/v2 2.1.9+unknown"
        var psi = new ProcessStartInfo(Containerd, ["--version"]) { RedirectStandardOutput = true, UseShellExecute = false };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("could not run containerd --version");
        var output = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(30_000) || process.ExitCode != 0)
        {
            throw new InvalidOperationException($"'{Containerd} --version' failed: {output}");
        }

        var fields = output.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var text = fields.Length >= 3 ? fields[2].TrimStart('v') : throw new FormatException($"unexpected containerd --version output: {output}");
        var numeric = new string(text.TakeWhile(c => char.IsAsciiDigit(c) || c == '.').ToArray());
        return Version.TryParse(numeric, out var version)
            ? (text, version)
            : throw new FormatException($"unexpected containerd version '{text}' in: {output}");
    }
}
