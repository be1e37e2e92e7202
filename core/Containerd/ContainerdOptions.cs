namespace Imageimportd.Containerd;

/// <summary>Where containerd is and which namespace to work in.</summary>
public sealed record ContainerdOptions
{
    public const string DefaultAddress = "/run/containerd/containerd.sock";
    public const string DefaultNamespace = "k8s.io";

    public string Address { get; init; } = DefaultAddress;

    public string Namespace { get; init; } = DefaultNamespace;

    /// <summary>HTTP/2 stream and connection windows; large windows keep big blob writes from stalling on flow control.</summary>
    public int Http2WindowBytes { get; init; } = 16 << 20;
}
