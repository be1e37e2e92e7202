using Imageimportd.Containerd;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class ContainerdSocketsTests
{
    private TempDirectory _dir = null!;

    [SetUp]
    public void SetUp() => _dir = new TempDirectory("sockets-");

    [TearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public void Find_DefaultAndK3sBothPresent_DefaultWins()
    {
        var root = _dir.Combine("both");
        foreach (var path in new[] { ContainerdOptions.DefaultAddress, "/run/k3s/containerd/containerd.sock" })
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Join(root, path))!);
            File.WriteAllText(Path.Join(root, path), "");
        }

        Assert.That(ContainerdSockets.Find(root), Is.EqualTo((Path.Join(root, ContainerdOptions.DefaultAddress), "containerd", true)));
    }

    [Test]
    public void Find_NoSocketAnywhere_DefaultNotFound()
    {
        var root = Directory.CreateDirectory(_dir.Combine("none")).FullName;

        Assert.That(ContainerdSockets.Find(root), Is.EqualTo((Path.Join(root, ContainerdOptions.DefaultAddress), "containerd", false)));
    }
}
