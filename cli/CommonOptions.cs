using System.CommandLine;
using Imageimportd.Containerd;
using Imageimportd.Import;

namespace Imageimportd.Cli;

/// <summary>Options every verb takes; they are recursive, so they may come before or after the verb.</summary>
internal sealed class CommonOptions
{
    public CommonOptions(RootCommand root)
    {
        foreach (var option in new Option[] { Address, Namespace, NoUnpack, NoUnpackAhead, UnpackVia, Snapshotter, NoPin, BaseName, TagPrefix, PullTimeout, DecoderMemory, LogLevel, LogFormat })
        {
            option.Recursive = true;
            root.Options.Add(option);
        }
    }

    /// <summary>Test seam: the root under which the default sockets are looked for (a node's is /).</summary>
    internal const string SocketRootVariable = "IMAGEIMPORTD_SOCKET_ROOT";

    public Option<string?> Address { get; } = new("--address")
    {
        Description = "containerd's socket (env CONTAINERD_ADDRESS); default: the first that exists of "
            + "/run/containerd/containerd.sock, k3s/RKE2's, k0s's and MicroK8s's",
        HelpName = "SOCK",
    };

    public Option<string> Namespace { get; } = new("--namespace")
    {
        Description = "containerd namespace (env CONTAINERD_NAMESPACE); k8s.io is the one kubelet sees",
        DefaultValueFactory = _ => Env("CONTAINERD_NAMESPACE") ?? ContainerdOptions.DefaultNamespace,
        HelpName = "NS",
    };

    public Option<bool> NoUnpack { get; } = new("--no-unpack") { Description = "do not unpack layers into the snapshotter" };

    public Option<bool> NoUnpackAhead { get; } = new("--no-unpack-ahead")
    {
        Description = "unpack only after the whole archive is read (as ctr does), not while it is read",
    };

    public Option<string> UnpackVia { get; } = new Option<string>("--unpack-via")
    {
        Description = "who writes layers into snapshots: auto (this process when the snapshot's directory is reachable, else containerd's Diff service), direct (this process, as root on the node), diff (containerd's Diff service)",
        DefaultValueFactory = _ => "auto",
        HelpName = "auto|direct|diff",
    }.AcceptOnlyFromAmong("diff", "direct", "auto");

    public Option<string> Snapshotter { get; } = new("--snapshotter")
    {
        Description = "snapshotter to unpack into",
        DefaultValueFactory = _ => "overlayfs",
        HelpName = "NAME",
    };

    public Option<bool> NoPin { get; } = new("--no-pin") { Description = "do not pin imported images against kubelet's image GC" };

    public Option<string?> BaseName { get; } = new("--base-name")
    {
        Description = "as ctr's: OCI images named only by a tag become NAME:TAG, and OCI names not under NAME are skipped",
        HelpName = "NAME",
    };

    public Option<string?> TagPrefix { get; } = new("--tag-prefix")
    {
        Description = "OCI images named only by a tag become NAME:TAG; other names are kept (--base-name wins)",
        HelpName = "NAME",
    };

    public Option<double> PullTimeout { get; } = new("--pull-timeout")
    {
        Description = "seconds one pull-list reference may take to pull before it fails",
        DefaultValueFactory = _ => 300,
        HelpName = "SECONDS",
    };

    public Option<int> DecoderMemory { get; } = new("--decoder-memory")
    {
        Description = "largest zstd window / xz dictionary accepted, in MiB (a hostile frame cannot ask for more)",
        DefaultValueFactory = _ => 128,
        HelpName = "MIB",
    };

    public Option<string> LogLevel { get; } = new("--log-level")
    {
        Description = "verbose, debug, information, warning, error",
        DefaultValueFactory = _ => "information",
        HelpName = "LEVEL",
    };

    public Option<string> LogFormat { get; } = new("--log-format")
    {
        Description = "text or json (one object per line)",
        DefaultValueFactory = _ => "text",
        HelpName = "FORMAT",
    };

    /// <summary>
    /// containerd's options; the address is --address, else CONTAINERD_ADDRESS, else the first socket of
    /// <see cref="ContainerdSockets"/> that exists (logged when it is not the default, so the node's log says which).
    /// </summary>
    public ContainerdOptions Containerd(ParseResult parse, Serilog.ILogger? log = null)
    {
        var address = parse.GetValue(Address) is { Length: > 0 } given ? given : Env("CONTAINERD_ADDRESS");
        if (address is null)
        {
            var (path, who, found) = ContainerdSockets.Find(Env(SocketRootVariable) ?? "/");
            address = path;
            if (found && who != ContainerdSockets.Candidates[0].Who)
            {
                log?.Information("using {Who:l}'s containerd socket {Address:l} (no --address given)", who, path);
            }
            else
            {
                log?.Debug("using containerd socket {Address:l} (no --address given)", path);
            }
        }

        return new ContainerdOptions { Address = address, Namespace = parse.GetValue(Namespace)! };
    }

    /// <summary>The pull deadline per reference; 0 or less means none.</summary>
    public TimeSpan PullDeadline(ParseResult parse) =>
        parse.GetValue(PullTimeout) is > 0 and var s ? TimeSpan.FromSeconds(s) : Timeout.InfiniteTimeSpan;

    public ImportOptions Import(ParseResult parse, Serilog.ILogger? log = null) => new()
    {
        UnpackViaReport = log is null ? null : message => log.Information("{Message:l}", message),
        Unpack = !parse.GetValue(NoUnpack),
        UnpackAhead = !parse.GetValue(NoUnpackAhead),
        UnpackVia = parse.GetValue(UnpackVia) switch
        {
            "direct" => Imageimportd.Unpack.Direct.UnpackVia.Direct,
            "diff" => Imageimportd.Unpack.Direct.UnpackVia.Diff,
            _ => Imageimportd.Unpack.Direct.UnpackVia.Auto,
        },
        Snapshotter = parse.GetValue(Snapshotter)!,
        Pin = !parse.GetValue(NoPin),
        BaseName = parse.GetValue(BaseName),
        TagPrefix = parse.GetValue(TagPrefix),
        Decompression = new Compression.DecompressionOptions { MaxWindowBytes = Math.Max(1, parse.GetValue(DecoderMemory)) * (1L << 20) },
    };

    public LogSettings Log(ParseResult parse) => new(parse.GetValue(LogLevel)!, parse.GetValue(LogFormat)!);

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
