using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Serilog;

namespace Imageimportd.Metrics;

/// <summary>
/// Serves <c>GET /metrics</c> over plain HTTP/1.1, one request per connection, and nothing else (404 for other paths,
/// 405 for other methods). Deliberately tiny: a scrape is one small GET, so a socket loop is all it takes, with a
/// bounded request size and a read timeout so a slow or hostile client cannot hold the daemon.
/// prometheus-net 8.2.1 was measured instead: it publishes under NativeAOT without trim warnings, but a counter, a
/// histogram and its MetricServer made a test program 7.6 MB against 1.5 MB for the same program on a TcpListener
/// (+6.1 MB, half again our binary), and its restore warns (NU1603, an error here); this server and the exposition
/// writer add 175 KB.
/// </summary>
public sealed class MetricsServer : IDisposable
{
    private const int MaxRequestBytes = 8192;
    private static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    private readonly TcpListener _listener;
    private readonly Func<string> _render;
    private readonly ILogger _log;

    public MetricsServer(IPEndPoint endpoint, Func<string> render, ILogger log)
    {
        _listener = new TcpListener(endpoint);
        _render = render;
        _log = log;
    }

    /// <summary>The bound address (the real port when 0 was asked for).</summary>
    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>HOST:PORT, [V6]:PORT, :PORT or PORT; no host means loopback (127.0.0.1).</summary>
    public static IPEndPoint ParseAddress(string text)
    {
        var colon = text.LastIndexOf(':');
        var host = colon < 0 ? string.Empty : text[..colon].Trim('[', ']');
        var portText = colon < 0 ? text : text[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > 65535)
        {
            throw new FormatException($"--metrics-address {text}: expected HOST:PORT");
        }

        var address = host.Length == 0 ? IPAddress.Loopback
            : host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var ip) ? ip
            : throw new FormatException($"--metrics-address {text}: the host must be an IP address");
        return new IPEndPoint(address, port);
    }

    public void Start() => _listener.Start();

    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(stop);
                _ = ServeAsync(client, stop);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
        finally
        {
            _listener.Stop();
        }
    }

    public void Dispose() => _listener.Dispose();

    private async Task ServeAsync(TcpClient client, CancellationToken stop)
    {
        using (client)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stop);
                timeout.CancelAfter(ReadTimeout);
                var stream = client.GetStream();
                var request = await ReadHeadAsync(stream, timeout.Token);
                var line = request?.Split("\r\n", 2)[0].Split(' ') ?? [];
                var (status, body) = line switch
                {
                    [var method, _, _] when method != "GET" && method != "HEAD" => ("405 Method Not Allowed", "GET only\n"),
                    [_, var target, _] when target == "/metrics" || target.StartsWith("/metrics?", StringComparison.Ordinal) => ("200 OK", _render()),
                    [_, _, _] => ("404 Not Found", "metrics are at /metrics\n"),
                    _ => ("400 Bad Request", "bad request\n"),
                };
                var payload = Encoding.UTF8.GetBytes(body);
                var head = $"HTTP/1.1 {status}\r\nContent-Type: {ExpositionWriter.ContentType}\r\nContent-Length: {payload.Length}\r\nConnection: close\r\n\r\n";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head), stop);
                if (line is not ["HEAD", _, _])
                {
                    await stream.WriteAsync(payload, stop);
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
                _log.Debug("metrics client: {Reason:l}", ex.Message);
            }
        }
    }

    /// <summary>The request up to the blank line, or null when it is too big or the client went away.</summary>
    private static async Task<string?> ReadHeadAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (n == 0)
            {
                return null;
            }

            length += n;
            var text = Encoding.ASCII.GetString(buffer, 0, length);
            if (text.Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                return text;
            }
        }

        return null;
    }
}
