using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Pull;

/// <summary>
/// --pull-timeout against a registry that accepts connections and never answers (a loopback TCP listener that
/// containerd's CRI is pointed at through certs.d): the pull fails after the deadline with an error naming the
/// reference, and the other line of the same list is still pulled. A private containerd, as in
/// <see cref="PullListIntegrationTests"/>: pulled images stay pinned in k8s.io.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PullTimeoutTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);

    [Test]
    public async Task ImportOnce_RegistryNeverAnswers_FailsAfterPullTimeoutNamingTheReferenceOthersPulled()
    {
        using var work = new TempDirectory("pulltimeout-");
        var layout = await ToolArchives.SourceLayoutAsync(work.Combine("src"), CancellationToken.None).WaitAsync(Limit);
        await using var registry = await LocalRegistry.StartAsync().WaitAsync(Limit);
        var good = await registry.PushAsync(layout, ToolArchives.BaseTag, "pulltimeout/app:1").WaitAsync(Limit);
        await using var containerd = await ContainerdInstance.StartAsync().WaitAsync(Limit);
        registry.ConfigureContainerdMirror(containerd);
        using var silent = new SilentRegistry();
        silent.ConfigureContainerdMirror(containerd);
        var stuck = $"{silent.Host}/never/answers:1";
        var images = Directory.CreateDirectory(work.Combine("images")).FullName;
        await File.WriteAllTextAsync(Path.Combine(images, "node.txt"), $"{stuck}\n{good}\n").WaitAsync(Limit);

        var result = await ImageimportdCli.RunRawAsync(["import-once", "--images", images, "--pull-timeout", "3", "--address", containerd.Address], TimeSpan.FromSeconds(150)).WaitAsync(Limit * 2);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        Assert.That(result.Stderr, Does.Match($"failed to pull {stuck.Replace(".", "\\.")} .*did not finish within 3s \\(--pull-timeout\\)"));
        Assert.That(silent.Accepted, Is.GreaterThan(0), "containerd never reached the silent registry: the test proves nothing");
        var pulled = await containerd.CtrFor("k8s.io").ListImagesAsync().WaitAsync(Limit);
        Assert.That(pulled.Select(i => i.Name), Does.Contain(good), result.Output);
    }
}
