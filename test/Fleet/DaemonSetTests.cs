using System.Text.RegularExpressions;
using System.Xml.Linq;
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

    [Test]
    public async Task DaemonSet_ImageTag_IsTheProjectVersion()
    {
        var text = await File.ReadAllTextAsync(Manifest).Bounded();

        Assert.That(ImageTags(text), Is.EqualTo(new[] { ProjectVersion() }), "run scripts/stamp-version.sh (make image does)");
    }

    [Test]
    public async Task StampVersion_StaleTag_RewritesOnlyTheTag()
    {
        using var dir = new TempDirectory("iid-stamp-");
        var text = await File.ReadAllTextAsync(Manifest).Bounded();
        var stale = Regex.Replace(text, "(image: docker.io/library/imageimportd:)\\S+", "${1}9.9.9-old");
        var copy = dir.Combine("daemonset.yaml");
        await File.WriteAllTextAsync(copy, stale).Bounded();

        var result = await Tools.RunUncheckedAsync("bash", [Path.Combine(RepoPaths.Root, "scripts", "stamp-version.sh"), copy], TimeSpan.FromSeconds(30), CancellationToken.None).Bounded();

        Assert.That(result.ExitCode, Is.Zero, result.StdoutText + result.Stderr);
        Assert.That(result.StdoutText.Trim(), Is.EqualTo(ProjectVersion()));
        Assert.That(ImageTags(stale), Is.EqualTo(new[] { "9.9.9-old" }));
        Assert.That(await File.ReadAllTextAsync(copy).Bounded(), Is.EqualTo(text.Replace("imageimportd:" + ImageTags(text)[0], "imageimportd:" + ProjectVersion(), StringComparison.Ordinal)));
    }

    /// <summary>The version's one source: &lt;Version&gt; in Directory.Build.props.</summary>
    private static string ProjectVersion() =>
        XDocument.Load(Path.Combine(RepoPaths.Root, "Directory.Build.props")).Descendants("Version").Single().Value;

    private static string[] ImageTags(string manifest) =>
        [.. Regex.Matches(manifest, "image: docker.io/library/imageimportd:(\\S+)").Select(m => m.Groups[1].Value)];

    private static Task<ToolResult> ValidateAsync(string file) =>
        Tools.RunUncheckedAsync("bash", [Path.Combine(RepoPaths.Root, "scripts", "validate-k8s.sh"), file], TimeSpan.FromMinutes(4), CancellationToken.None).Bounded(300);
}
