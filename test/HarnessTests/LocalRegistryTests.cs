using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.HarnessTests;

[TestFixture]
public sealed class LocalRegistryTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    [Test]
    public async Task PushAsync_OciLayout_InspectServesManifest()
    {
        using var work = new TempDirectory();
        var layout = await ToolArchives.SourceLayoutAsync(work.Path, CancellationToken.None).WaitAsync(Limit);
        var expected = ToolArchives.LayoutDigests(layout)[ToolArchives.BaseTag];
        await using var registry = await LocalRegistry.StartAsync().WaitAsync(Limit);

        var pushed = await registry.PushAsync(layout, ToolArchives.BaseTag, "team/app:1.0").WaitAsync(Limit);
        var inspect = await registry.InspectAsync("team/app:1.0").WaitAsync(Limit);
        var raw = await registry.InspectAsync("team/app:1.0", raw: true).WaitAsync(Limit);
        using var doc = JsonDocument.Parse(inspect);

        Assert.Multiple(() =>
        {
            Assert.That(pushed, Is.EqualTo($"127.0.0.1:{registry.Port}/team/app:1.0"));
            Assert.That(doc.RootElement.GetProperty("Digest").GetString(), Is.EqualTo(expected.Manifest));
            Assert.That("sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw))), Is.EqualTo(expected.Manifest));
            Assert.That(doc.RootElement.GetProperty("Layers").GetArrayLength(), Is.EqualTo(3));
        });
    }

    [Test]
    public async Task ConfigureContainerdMirror_HostsToml_CtrPullsFromRegistryAndMirror()
    {
        using var work = new TempDirectory();
        var layout = await ToolArchives.SourceLayoutAsync(work.Path, CancellationToken.None).WaitAsync(Limit);
        await using var registry = await LocalRegistry.StartAsync().WaitAsync(Limit);
        var containerd = await SharedContainerd.GetAsync().WaitAsync(Limit);
        var ctr = containerd.CtrFor(SharedContainerd.NewNamespace("mirror"));
        var direct = await registry.PushAsync(layout, ToolArchives.BaseTag, "team/app:1.0").WaitAsync(Limit);
        await registry.PushAsync(layout, ToolArchives.OtherTag, "library/mirrored:2.0").WaitAsync(Limit);

        registry.ConfigureContainerdMirror(containerd, mirrorFor: "docker.io");
        // ctr reads the same hosts.toml format as CRI (config_path); there is no network, so
        // docker.io can only come from the mirror.
        await ctr.RunAsync(["images", "pull", "--hosts-dir", containerd.CertsDir, direct]).WaitAsync(Limit);
        await ctr.RunAsync(["images", "pull", "--hosts-dir", containerd.CertsDir, "docker.io/library/mirrored:2.0"]).WaitAsync(Limit);
        var images = await ctr.ListImagesAsync().WaitAsync(Limit);

        Assert.Multiple(() =>
        {
            Assert.That(images.Select(i => i.Name), Is.EquivalentTo(new[] { direct, "docker.io/library/mirrored:2.0" }));
            Assert.That(File.ReadAllText(Path.Combine(containerd.CertsDir, registry.Host, "hosts.toml")), Does.Contain($"server = \"http://{registry.Host}\""));
        });
    }

    [Test]
    public async Task StartAsync_TwoRegistries_DistinctLoopbackPorts()
    {
        await using var a = await LocalRegistry.StartAsync().WaitAsync(Limit);
        await using var b = await LocalRegistry.StartAsync().WaitAsync(Limit);

        Assert.That(a.Port, Is.Not.EqualTo(b.Port));
    }
}
