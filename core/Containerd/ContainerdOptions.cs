namespace Imageimportd.Containerd;

/// <summary>Where containerd is and which namespace to work in.</summary>
public sealed record ContainerdOptions
{
    public const string DefaultAddress = "/run/containerd/containerd.sock";
    public const string DefaultNamespace = "k8s.io";

    public string Address { get; init; } = DefaultAddress;

    public string Namespace { get; init; } = DefaultNamespace;

    /// <summary>
    /// How long the connection may go without a frame from containerd, while a call is in flight, before the client
    /// pings it (and closes the connection when the ping is not answered within 20 s: a hung containerd).
    /// containerd's gRPC server keeps grpc-go's default enforcement (keepalive.EnforcementPolicy: MinTime 5 min,
    /// PermitWithoutStream false): a ping sooner than 5 min after the previous one, with no data or headers from the
    /// server in between, is a strike, and the third strike ends the connection with GOAWAY ENHANCE_YOUR_CALM
    /// ("too_many_pings"). A call containerd is busy with for minutes (Diff.Apply of a big layer on a slow disk) sends
    /// nothing, so pings must stay at least 5 min apart: 6 min leaves a margin for both clocks.
    /// </summary>
    public TimeSpan KeepAlivePingDelay { get; init; } = DefaultKeepAlivePingDelay;

    public static readonly TimeSpan DefaultKeepAlivePingDelay = TimeSpan.FromMinutes(6);

    /// <summary>
    /// Ping an idle connection too. Off: grpc-go counts every ping without an open stream as a strike (unless 2 h
    /// apart), and an idle connection has nothing to protect. Only tests turn it on, to show what it costs.
    /// </summary>
    public bool KeepAlivePingWhenIdle { get; init; }

    /// <summary>HTTP/2 stream and connection windows; large windows keep big blob writes from stalling on flow control.</summary>
    public int Http2WindowBytes { get; init; } = 16 << 20;
}
