using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Imageimportd.Unpack;
using ContentApi = Imageimportd.Proto.Content.Content;
using DiffApi = Imageimportd.Proto.Diff.Diff;
using ImagesApi = Imageimportd.Proto.Images.Images;
using LeasesApi = Imageimportd.Proto.Leases.Leases;
using SnapshotsApi = Imageimportd.Proto.Snapshots.Snapshots;
using VersionApi = Imageimportd.Proto.Version.Version;

namespace Imageimportd.Containerd;

/// <summary>
/// One gRPC connection to containerd over its unix socket, with the namespace header on every call.
/// Adapters for the core's interfaces are made per lease: everything written under a lease is kept until it ends.
/// </summary>
public sealed class ContainerdClient : IDisposable
{
    private const string NamespaceHeader = "containerd-namespace";
    private const string LeaseHeader = "containerd-lease";

    private readonly GrpcChannel _channel;
    private readonly bool _ownsChannel = true;
    private int _connectionsOpened;

    public ContainerdClient(ContainerdOptions options)
    {
        Options = options;
        var socket = SocketPath = options.Address.StartsWith("unix://", StringComparison.Ordinal) ? options.Address["unix://".Length..] : options.Address;
        var handler = CreateHandler(options, socket, () => Interlocked.Increment(ref _connectionsOpened));
        _channel = GrpcChannel.ForAddress("http://containerd", new GrpcChannelOptions
        {
            HttpHandler = handler,
            MaxReceiveMessageSize = 32 << 20,
            MaxSendMessageSize = 16 << 20,
            DisposeHttpClient = true,
        });
        (Content, Images, Leases, Snapshots, Diff, Version) = Clients(_channel);
    }

    /// <summary>The HTTP/2 handler for the unix socket; <paramref name="connected"/> runs once per connection opened.</summary>
    internal static SocketsHttpHandler CreateHandler(ContainerdOptions options, string socket, Action connected) => new()
    {
        ConnectCallback = async (_, cancellationToken) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancellationToken);
                connected();
                return new NetworkStream(s, ownsSocket: true);
            }
            catch
            {
                s.Dispose();
                throw;
            }
        },
        InitialHttp2StreamWindowSize = options.Http2WindowBytes,
        EnableMultipleHttp2Connections = false,
        // See ContainerdOptions.KeepAlivePingDelay: pings only while a call is in flight, and never more often than
        // containerd's grpc-go server accepts, so a long silent call is never cut by a GOAWAY of our own making.
        KeepAlivePingDelay = options.KeepAlivePingDelay,
        KeepAlivePingTimeout = TimeSpan.FromSeconds(20),
        KeepAlivePingPolicy = options.KeepAlivePingWhenIdle ? HttpKeepAlivePingPolicy.Always : HttpKeepAlivePingPolicy.WithActiveRequests,
        PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>A view of <paramref name="other"/> for another namespace, over its connection (which stays <paramref name="other"/>'s).</summary>
    private ContainerdClient(ContainerdClient other, string containerdNamespace)
    {
        Options = other.Options with { Namespace = containerdNamespace };
        SocketPath = other.SocketPath;
        _channel = other._channel;
        _ownsChannel = false;
        (Content, Images, Leases, Snapshots, Diff, Version) = Clients(_channel);
    }

    private static (ContentApi.ContentClient, ImagesApi.ImagesClient, LeasesApi.LeasesClient, SnapshotsApi.SnapshotsClient, DiffApi.DiffClient, VersionApi.VersionClient) Clients(GrpcChannel channel) =>
        (new(channel), new(channel), new(channel), new(channel), new(channel), new(channel));

    /// <summary>The same connection, in another namespace; disposing the view leaves the connection to this client.</summary>
    public ContainerdClient ForNamespace(string containerdNamespace) =>
        containerdNamespace == Options.Namespace ? this : new ContainerdClient(this, containerdNamespace);

    public ContainerdOptions Options { get; }

    /// <summary>The unix socket path (the address without a <c>unix://</c> scheme).</summary>
    public string SocketPath { get; }

    internal ContentApi.ContentClient Content { get; }

    internal ImagesApi.ImagesClient Images { get; }

    internal LeasesApi.LeasesClient Leases { get; }

    internal SnapshotsApi.SnapshotsClient Snapshots { get; }

    internal DiffApi.DiffClient Diff { get; }

    internal VersionApi.VersionClient Version { get; }

    internal GrpcChannel Channel => _channel;

    /// <summary>Connections opened to the socket so far (a closed connection is replaced by the next call).</summary>
    internal int ConnectionsOpened => Volatile.Read(ref _connectionsOpened);

    /// <summary>Headers for a call: the namespace, and the lease when there is one.</summary>
    internal Metadata Headers(string? lease)
    {
        var headers = new Metadata { { NamespaceHeader, Options.Namespace } };
        if (lease is not null)
        {
            headers.Add(LeaseHeader, lease);
        }

        return headers;
    }

    /// <summary>containerd's version; also the cheapest way to learn it is up.</summary>
    public async Task<string> GetVersionAsync(CancellationToken cancellationToken)
    {
        var response = await ContainerdErrors.Call("version", Version.VersionAsync(new Google.Protobuf.WellKnownTypes.Empty(), Headers(null), cancellationToken: cancellationToken));
        return response.Version;
    }

    public GrpcContentStore ContentStore(string? lease) => new(this, lease);

    public GrpcImageStore ImageStore() => new(this);

    public GrpcLeaseManager LeaseManager() => new(this);

    public ISnapshotter Snapshotter(string name, string? lease) => new GrpcSnapshotter(this, name, lease);

    public IDiffApplier DiffApplier(string? lease) => new GrpcDiffApplier(this, lease);

    public void Dispose()
    {
        if (_ownsChannel)
        {
            _channel.Dispose();
        }
    }
}
