using Imageimportd.Containerd;
using Imageimportd.Daemon;
using Imageimportd.Import;
using Imageimportd.Pull;
using Serilog;

namespace Imageimportd.Cli;

/// <summary>Wires the <c>.txt</c> pull-list handler: CRI pulls land in k8s.io, so pins are set there too.</summary>
internal static class PullLists
{
    public static IPullListHandler Create(ContainerdClient client, ImportOptions options, int parallel, TimeSpan pullTimeout, ILogger log)
    {
        var k8s = client.ForNamespace(ContainerdOptions.DefaultNamespace);
        return new PullListHandler(new CriImagePuller(new CriImages(client), pullTimeout), k8s.ImageStore(), options.Pin, parallel, log);
    }
}
