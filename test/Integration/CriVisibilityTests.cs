using Imageimportd.Containerd;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>Imports into k8s.io are what kubelet sees through CRI, by tag and by digest.</summary>
[TestFixture]
[NonParallelizable]
public sealed class CriVisibilityTests
{
    [Test]
    public async Task ImportOnce_IntoK8sNamespace_VisibleThroughCri()
    {
        using var dir = new TempDirectory("cri-");
        var archive = await ToolArchives.DockerArchiveAsync(dir.Combine("src"), ["docker.io/library/crivis:3.1"], CancellationToken.None).Bounded();
        var containerd = await SharedContainerd.GetAsync().Bounded();

        var result = await ImageimportdCli.RunAsync(containerd, "k8s.io", "import-once", archive.Path).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        using var client = new ContainerdClient(new ContainerdOptions { Address = containerd.Address });
        var cri = new CriImages(client);
        // The digest name is the last record the import writes; CRI may learn of it a moment later (CriWait).
        var byTag = await CriWait.StatusUntilAsync(
            cri, "docker.io/library/crivis:3.1", s => s?.RepoDigests.Count > 0, TimeSpan.FromSeconds(30)).Bounded();
        Assert.That(byTag, Is.Not.Null, "CRI does not see the imported tag");
        Assert.That(byTag!.Id, Is.EqualTo(archive.ConfigDigests.Values.Single()));
        Assert.That(byTag.RepoDigests, Has.Some.StartsWith("docker.io/library/crivis@sha256:"));
        var familiar = await cri.StatusAsync("crivis:3.1", CancellationToken.None).Bounded();
        Assert.That(familiar?.Id, Is.EqualTo(byTag.Id), "kubelet's short name must resolve too");
    }
}
