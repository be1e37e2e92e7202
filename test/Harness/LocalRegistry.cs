using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Imageimportd.Tests.Harness;

/// <summary>
/// Debian's docker-registry (distribution 2.8) on 127.0.0.1, plain HTTP, storage in a temp dir.
/// It binds port 0 itself and we read the chosen port from its log, so parallel registries never race for a port.
/// </summary>
public sealed partial class LocalRegistry : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(20);

    private readonly Process _process;

    private LocalRegistry(string dir, Process process)
    {
        Dir = dir;
        _process = process;
    }

    public string Dir { get; }

    public int Port { get; private set; }

    /// <summary>"127.0.0.1:PORT", the registry host as image references spell it.</summary>
    public string Host => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    public int Pid => _process.Id;

    public string LogPath => Path.Combine(Dir, "registry.log");

    public static async Task<LocalRegistry> StartAsync(CancellationToken cancellationToken = default)
    {
        var dir = Directory.CreateTempSubdirectory("reg-").FullName;
        var storage = Directory.CreateDirectory(Path.Combine(dir, "storage")).FullName;
        var config = Path.Combine(dir, "config.yml");
        // A fixed secret silences the "No HTTP secret" warning; no debug listener, no auth, loopback only.
        await File.WriteAllTextAsync(
            config,
            $"""
            version: 0.1
            log:
              level: info
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {storage}
              delete:
                enabled: true
            http:
              addr: 127.0.0.1:0
              secret: imageimportd-tests
            """,
            cancellationToken);

        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("exec \"$0\" serve \"$1\" </dev/null >>\"$2\" 2>&1");
        psi.ArgumentList.Add(Tools.Resolve("docker-registry"));
        psi.ArgumentList.Add(config);
        psi.ArgumentList.Add(Path.Combine(dir, "registry.log"));
        // REGISTRY_* variables from the host would override our config file.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("REGISTRY_", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(key);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start docker-registry");
        var registry = new LocalRegistry(dir, process);
        try
        {
            await registry.WaitReadyAsync(cancellationToken);
            return registry;
        }
        catch
        {
            await registry.DisposeAsync();
            throw;
        }
    }

    /// <summary>"127.0.0.1:PORT/repo:tag".</summary>
    public string Reference(string repoAndTag) => $"{Host}/{repoAndTag}";

    /// <summary>
    /// <c>skopeo copy oci:LAYOUT:TAG docker://127.0.0.1:PORT/REPO:TAG</c> (plain HTTP). Returns the pushed reference.
    /// </summary>
    public async Task<string> PushAsync(string ociLayoutDir, string tag, string repoAndTag, CancellationToken cancellationToken = default)
    {
        var reference = Reference(repoAndTag);
        await Tools.SkopeoAsync(["copy", "-q", "--dest-tls-verify=false", $"oci:{ociLayoutDir}:{tag}", $"docker://{reference}"], cancellationToken);
        return reference;
    }

    /// <summary><c>skopeo inspect</c> output (JSON) for repo:tag; <paramref name="raw"/> returns the manifest itself.</summary>
    public Task<string> InspectAsync(string repoAndTag, bool raw = false, CancellationToken cancellationToken = default)
    {
        var args = new List<string> { "inspect", "--tls-verify=false" };
        if (raw)
        {
            args.Add("--raw");
        }

        args.Add($"docker://{Reference(repoAndTag)}");
        return Tools.SkopeoAsync(args, cancellationToken);
    }

    /// <summary>
    /// Makes the instance's CRI pull from this registry over plain HTTP: writes certs.d/127.0.0.1:PORT/hosts.toml,
    /// and with <paramref name="mirrorFor"/> (e.g. "docker.io") also certs.d/MIRRORFOR/hosts.toml, so
    /// "docker.io/library/x:1" is pulled from 127.0.0.1:PORT/library/x:1. containerd reads these per pull;
    /// no restart needed. Verified with a CRI PullImage on containerd 1.6.20: no skip_verify needed for http.
    /// </summary>
    public void ConfigureContainerdMirror(ContainerdInstance containerd, string? mirrorFor = null)
    {
        var hostsToml =
            $"""
            server = "http://{Host}"

            [host."http://{Host}"]
              capabilities = ["pull", "resolve"]

            """;
        var hosts = mirrorFor is null ? new[] { Host } : new[] { Host, mirrorFor };
        foreach (var host in hosts)
        {
            var hostDir = Directory.CreateDirectory(Path.Combine(containerd.CertsDir, host)).FullName;
            File.WriteAllText(Path.Combine(hostDir, "hosts.toml"), hostsToml);
        }
    }

    public string LogTail(int lines = 40) => ContainerdInstance.ReadTail(LogPath, lines);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Tools.KillTree(_process);
            await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
        }

        _process.Dispose();
        try
        {
            Directory.Delete(Dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"LocalRegistry: could not delete {Dir}: {e.Message}");
        }
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        var last = "no 'listening on' line in the log yet";
        while (clock.Elapsed < ReadyTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"docker-registry exited with code {_process.ExitCode}; log tail:\n{LogTail()}");
            }

            if (Port == 0 && ListeningOn().Match(ContainerdInstance.ReadTail(LogPath, 200)) is { Success: true } m)
            {
                Port = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            }

            if (Port != 0)
            {
                try
                {
                    using var response = await http.GetAsync(new Uri($"http://{Host}/v2/"), cancellationToken);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return;
                    }

                    last = $"GET /v2/ answered {(int)response.StatusCode}";
                }
                catch (HttpRequestException e)
                {
                    last = e.Message;
                }
            }

            await Task.Delay(100, cancellationToken);
        }

        throw new TimeoutException($"docker-registry not ready after {ReadyTimeout.TotalSeconds:0} s ({last}); log tail:\n{LogTail()}");
    }

    [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
    private static partial Regex ListeningOn();
}
