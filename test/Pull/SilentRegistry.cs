using System.Net;
using System.Net.Sockets;
using Imageimportd.Tests.Harness;

namespace Imageimportd.Tests.Pull;

/// <summary>A registry on 127.0.0.1 that accepts every connection and never sends a byte.</summary>
internal sealed class SilentRegistry : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly List<Socket> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private int _accepted;

    public SilentRegistry()
    {
        _listener.Start();
        _ = AcceptAsync();
    }

    public string Host => $"127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public int Accepted => Volatile.Read(ref _accepted);

    public void ConfigureContainerdMirror(ContainerdInstance containerd)
    {
        var dir = Directory.CreateDirectory(Path.Combine(containerd.CertsDir, Host)).FullName;
        File.WriteAllText(Path.Combine(dir, "hosts.toml"), $"server = \"http://{Host}\"\n\n[host.\"http://{Host}\"]\n  capabilities = [\"pull\", \"resolve\"]\n");
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_held)
        {
            _held.ForEach(s => s.Dispose());
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                Interlocked.Increment(ref _accepted);
                lock (_held)
                {
                    _held.Add(socket);
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped.
        }
    }
}
