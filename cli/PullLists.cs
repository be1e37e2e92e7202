using Imageimportd.Containerd;
using Imageimportd.Daemon;
using Imageimportd.Import;
using Serilog;

namespace Imageimportd.Cli;

/// <summary>Wires the <c>.txt</c> pull-list handler, when this build has one.</summary>
internal static class PullLists
{
    public static IPullListHandler? Create(ContainerdClient client, ImportOptions options, ILogger log)
    {
        _ = client;
        _ = options;
        _ = log;
        return null;
    }
}
