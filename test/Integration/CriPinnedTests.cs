using Imageimportd.Containerd;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>
/// What CRI says about the pins imageimportd sets, by containerd version: CRI reports an image's
/// <c>io.cri-containerd.pinned</c> label as its <c>pinned</c> field from containerd 1.7 on (kubelet's image GC
/// skips such images); containerd 1.6's CRI does not fill that field and reports every image unpinned, although the
/// label is set all the same.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CriPinnedTests
{
    private static readonly Version FirstReportingPins = new(1, 7);

    [Test]
    public async Task ImportOnce_ImportedAndPulledImages_CriReportsPinnedFrom17()
    {
        using var work = new TempDirectory("pinned-");
        var docker = await ToolArchives.DockerArchiveAsync(work.Combine("docker"), ["docker.io/library/pinned-docker:1"], CancellationToken.None).Bounded();
        var oci = await ToolArchives.OciArchiveAsync(work.Combine("oci"), "docker.io/library/pinned-oci:1", CancellationToken.None).Bounded();
        var layout = await ToolArchives.SourceLayoutAsync(work.Combine("pull"), CancellationToken.None).Bounded();
        await using var registry = await LocalRegistry.StartAsync().Bounded();
        var pulled = await registry.PushAsync(layout, ToolArchives.BaseTag, "pinned/pulled:1").Bounded();
        // A private containerd: CRI lists all of k8s.io, and here that is only what this test put there.
        await using var containerd = await ContainerdInstance.StartAsync().Bounded();
        registry.ConfigureContainerdMirror(containerd);
        var images = Directory.CreateDirectory(work.Combine("images")).FullName;
        File.Copy(docker.Path, Path.Combine(images, "docker.tar"));
        File.Copy(oci.Path, Path.Combine(images, "oci.tar"));
        await File.WriteAllTextAsync(Path.Combine(images, "pull.txt"), pulled + "\n").Bounded();

        var result = await ImageimportdCli.RunAsync(containerd, "k8s.io", "import-once", "--images", images).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        string[] tags = ["docker.io/library/pinned-docker:1", "docker.io/library/pinned-oci:1", pulled];
        using var client = new ContainerdClient(new ContainerdOptions { Address = containerd.Address });
        var seen = await CriWait.ListUntilAsync(
            new CriImages(client), list => tags.All(t => list.Any(i => i.RepoTags.Contains(t))), TimeSpan.FromSeconds(30)).Bounded();
        var verb = await ImageimportdCli.RunAsync(containerd, "k8s.io", "cri-images").Bounded();
        var reportsPins = ContainerdInstance.ContainerdVersion >= FirstReportingPins;

        Assert.Multiple(() =>
        {
            Assert.That(seen.SelectMany(i => i.RepoTags), Is.SupersetOf(tags), "CRI does not list every image");
            Assert.That(seen.Where(i => i.Pinned != reportsPins).Select(i => i.RepoTags.Count > 0 ? i.RepoTags[0] : i.Id), Is.Empty,
                $"containerd {ContainerdInstance.ContainerdVersionText}: CRI should report pinned={reportsPins} for every image; these differ");
            Assert.That(verb.ExitCode, Is.EqualTo(0), verb.Output);
            // The verb prints one row per CRI image (the same config under several names is one image), PINNED third.
            var rows = verb.Stdout.Split('\n').Skip(1).Where(l => l.Length > 0 && !l.StartsWith(' ')).ToList();
            Assert.That(rows, Has.Count.EqualTo(seen.Count), verb.Stdout);
            Assert.That(rows.Select(r => r.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]), Has.All.EqualTo(reportsPins ? "yes" : "no"), verb.Stdout);
        });
    }
}
