using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Fleet;

/// <summary>dist/kubernetes/daemonset.yaml against Kubernetes' published DaemonSet schema (offline, kubernetes-models).</summary>
[TestFixture]
[NonParallelizable]
[Category("NoContainerd")]
public sealed class DaemonSetTests
{
    private static string Manifest => Path.Combine(RepoPaths.Root, "dist", "kubernetes", "daemonset.yaml");

    [Test]
    public async Task DaemonSet_Schema_Valid()
    {
        var result = await ValidateAsync(Manifest);

        Assert.That(result.ExitCode, Is.Zero, result.StdoutText + result.Stderr);
        Assert.That(result.StdoutText, Does.Contain("apps/v1/DaemonSet imageimportd: valid"));
    }

    [Test]
    public async Task DaemonSet_WrongFieldType_Rejected()
    {
        // The validator must be able to say no, or a pass means nothing.
        using var dir = new TempDirectory("iid-k8s-");
        var text = await File.ReadAllTextAsync(Manifest).Bounded();
        var broken = dir.Combine("broken.yaml");
        await File.WriteAllTextAsync(broken, text.Replace("periodSeconds: 10", "periodSeconds: often", StringComparison.Ordinal)).Bounded();

        var result = await ValidateAsync(broken);

        Assert.That(result.ExitCode, Is.Not.Zero);
        Assert.That(result.Stderr, Does.Contain("periodSeconds must be integer"));
    }

    [TestCase("mountPath: /run/containerd")]
    [TestCase("mountPath: /var/lib/imageimportd/images")]
    [TestCase("path: /var/lib/imageimportd/images")]
    [TestCase("command: [\"/usr/bin/imageimportd\", \"status\", \"--ready\", \"--images\", \"/var/lib/imageimportd/images\"]")]
    [TestCase("- operator: Exists")]
    [TestCase("- watch")]
    public async Task DaemonSet_Setting_Present(string line)
    {
        var text = await File.ReadAllTextAsync(Manifest).Bounded();

        Assert.That(text, Does.Contain(line));
    }

    private static Task<ToolResult> ValidateAsync(string file) =>
        Tools.RunUncheckedAsync("bash", [Path.Combine(RepoPaths.Root, "scripts", "validate-k8s.sh"), file], TimeSpan.FromMinutes(4), CancellationToken.None).Bounded(300);
}
