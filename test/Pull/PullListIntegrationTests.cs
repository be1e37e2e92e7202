using Imageimportd.Containerd;
using Imageimportd.Images;
using Imageimportd.Pull;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Pull;

/// <summary>
/// A pull list run against real components: Debian's docker-registry on loopback, a private containerd whose CRI
/// pulls from it over plain HTTP (certs.d), CRI's ImageService as the puller and containerd's image service in k8s.io
/// as the store. A private containerd, because the pulled image stays pinned in k8s.io, which the shared one also
/// serves to other tests.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PullListIntegrationTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    [Test]
    public async Task RunAsync_ListAgainstLocalRegistry_PullsPinsThenFindsPresent()
    {
        using var work = new TempDirectory("pull-");
        var layout = await ToolArchives.SourceLayoutAsync(work.Combine("src"), CancellationToken.None).WaitAsync(Limit);
        var expected = ToolArchives.LayoutDigests(layout)[ToolArchives.BaseTag];
        await using var registry = await LocalRegistry.StartAsync().WaitAsync(Limit);
        var reference = await registry.PushAsync(layout, ToolArchives.BaseTag, "pulltest/app:1").WaitAsync(Limit);
        await using var containerd = await ContainerdInstance.StartAsync().WaitAsync(Limit);
        registry.ConfigureContainerdMirror(containerd);
        var listPath = work.Combine("node.txt");
        await File.WriteAllTextAsync(listPath, $"# images this node needs\n\n{reference}   # the app\nNot/A:Valid Reference\n").WaitAsync(Limit);

        var parse = await PullList.ReadAsync(listPath, CancellationToken.None).WaitAsync(Limit);
        using var client = new ContainerdClient(new ContainerdOptions { Address = containerd.Address, Namespace = "k8s.io" });
        var runner = new PullListRunner(new CriImagePuller(new CriImages(client), TimeSpan.FromMinutes(5)), client.ImageStore(), new PullListOptions { Source = listPath });
        var first = await runner.RunAsync(parse.Entries, CancellationToken.None).WaitAsync(Limit);
        var images = await containerd.CtrFor("k8s.io").ListImagesAsync().WaitAsync(Limit);
        var second = await runner.RunAsync(parse.Entries, CancellationToken.None).WaitAsync(Limit);

        var digestName = $"{registry.Host}/pulltest/app@{expected.Manifest}";
        Assert.Multiple(() =>
        {
            Assert.That(parse.Errors.Select(e => (e.File, e.LineNumber, e.Line)), Is.EqualTo(new[] { (listPath, 4, "Not/A:Valid Reference") }));
            Assert.That(parse.Entries.Select(e => (e.Reference, e.LineNumber)), Is.EqualTo(new[] { (reference, 3) }));

            var pulled = first.Entries.Single();
            Assert.That(pulled.Outcome, Is.EqualTo(PullOutcome.Pulled), pulled.FailureReason + "\n" + containerd.LogTail());
            Assert.That(pulled.ImageId, Is.EqualTo(expected.Config));
            Assert.That(pulled.LabeledNames, Is.EquivalentTo(new[] { reference, digestName }));

            foreach (var name in new[] { reference, digestName })
            {
                var image = images.SingleOrDefault(i => i.Name == name);
                Assert.That(image, Is.Not.Null, $"{name} missing from k8s.io: {string.Join(", ", images.Select(i => i.Name))}");
                Assert.That(image?.Digest, Is.EqualTo(expected.Manifest), name);
                Assert.That(image?.Labels.GetValueOrDefault(ImageLabels.CriPinned), Is.EqualTo(ImageLabels.CriPinnedValue), name);
                Assert.That(image?.Labels.GetValueOrDefault(ImageLabels.Source), Is.EqualTo(listPath), name);
            }

            var again = second.Entries.Single();
            Assert.That(again.Outcome, Is.EqualTo(PullOutcome.AlreadyPresent), again.FailureReason);
            Assert.That(again.ImageId, Is.EqualTo(expected.Config));
            Assert.That(again.LabeledNames, Is.Empty, "a second run writes no image record");
        });
    }

    [Test]
    public async Task RunAsync_ReferenceNotInRegistry_FailedNotTransient()
    {
        using var work = new TempDirectory("pull-");
        await using var registry = await LocalRegistry.StartAsync().WaitAsync(Limit);
        await using var containerd = await ContainerdInstance.StartAsync().WaitAsync(Limit);
        registry.ConfigureContainerdMirror(containerd);
        var listPath = work.Combine("node.txt");
        var parse = PullList.Parse(listPath, registry.Reference("pulltest/absent:1") + "\n");

        using var client = new ContainerdClient(new ContainerdOptions { Address = containerd.Address, Namespace = "k8s.io" });
        var runner = new PullListRunner(new CriImagePuller(new CriImages(client), TimeSpan.FromMinutes(5)), client.ImageStore(), new PullListOptions { Source = listPath });
        var result = await runner.RunAsync(parse.Entries, CancellationToken.None).WaitAsync(Limit);

        var entry = result.Entries.Single();
        Assert.That(entry.Outcome, Is.EqualTo(PullOutcome.Failed));
        Assert.That(entry.IsTransient, Is.False, entry.FailureReason);
        Assert.That(entry.FailureReason, Does.Contain("pulltest/absent:1"));
    }
}
