using System.CommandLine;
using Imageimportd.Containerd;
using Imageimportd.Import;

namespace Imageimportd.Cli;

/// <summary>Options every verb takes; they are recursive, so they may come before or after the verb.</summary>
internal sealed class CommonOptions
{
    public CommonOptions(RootCommand root)
    {
        foreach (var option in new Option[] { Address, Namespace, NoUnpack, NoUnpackAhead, Snapshotter, NoPin, BaseName, DecoderMemory, LogLevel, LogFormat })
        {
            option.Recursive = true;
            root.Options.Add(option);
        }
    }

    public Option<string> Address { get; } = new("--address")
    {
        Description = "containerd's socket (env CONTAINERD_ADDRESS)",
        DefaultValueFactory = _ => Env("CONTAINERD_ADDRESS") ?? ContainerdOptions.DefaultAddress,
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

    public Option<string> Snapshotter { get; } = new("--snapshotter")
    {
        Description = "snapshotter to unpack into",
        DefaultValueFactory = _ => "overlayfs",
        HelpName = "NAME",
    };

    public Option<bool> NoPin { get; } = new("--no-pin") { Description = "do not pin imported images against kubelet's image GC" };

    public Option<string?> BaseName { get; } = new("--base-name")
    {
        Description = "name prefix for OCI images named only by a tag (e.g. registry.local/app)",
        HelpName = "NAME",
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

    public ContainerdOptions Containerd(ParseResult parse) => new()
    {
        Address = parse.GetValue(Address)!,
        Namespace = parse.GetValue(Namespace)!,
    };

    public ImportOptions Import(ParseResult parse) => new()
    {
        Unpack = !parse.GetValue(NoUnpack),
        UnpackAhead = !parse.GetValue(NoUnpackAhead),
        Snapshotter = parse.GetValue(Snapshotter)!,
        Pin = !parse.GetValue(NoPin),
        BaseName = parse.GetValue(BaseName),
        Decompression = new Compression.DecompressionOptions { MaxWindowBytes = Math.Max(1, parse.GetValue(DecoderMemory)) * (1L << 20) },
    };

    public LogSettings Log(ParseResult parse) => new(parse.GetValue(LogLevel)!, parse.GetValue(LogFormat)!);

    private static string? Env(string name) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : null;
}
