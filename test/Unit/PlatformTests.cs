using Imageimportd.Oci;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class PlatformTests
{
    // containerd 1.6 platforms.Normalize (normalizeOS + normalizeArch).
    [TestCase("linux", "x86_64", null, "linux", "amd64", null)]
    [TestCase("linux", "x86-64", null, "linux", "amd64", null)]
    [TestCase("linux", "amd64", "v1", "linux", "amd64", null)]
    [TestCase("linux", "amd64", "v3", "linux", "amd64", "v3")]
    [TestCase("linux", "aarch64", null, "linux", "arm64", null)]
    [TestCase("linux", "aarch64", "v8", "linux", "arm64", null)]
    [TestCase("linux", "arm64", "8", "linux", "arm64", null)]
    [TestCase("linux", "arm64", "v9", "linux", "arm64", "v9")]
    [TestCase("linux", "armhf", null, "linux", "arm", "v7")]
    [TestCase("linux", "armhf", "v6", "linux", "arm", "v7")]
    [TestCase("linux", "armel", null, "linux", "arm", "v6")]
    [TestCase("linux", "arm", "", "linux", "arm", "v7")]
    [TestCase("linux", "arm", null, "linux", "arm", "v7")]
    [TestCase("linux", "arm", "7", "linux", "arm", "v7")]
    [TestCase("linux", "arm", "6", "linux", "arm", "v6")]
    [TestCase("linux", "arm", "5", "linux", "arm", "v5")]
    [TestCase("linux", "arm", "v6", "linux", "arm", "v6")]
    [TestCase("linux", "i386", "whatever", "linux", "386", null)]
    [TestCase("macos", "arm64", null, "darwin", "arm64", null)]
    [TestCase("Linux", "AMD64", null, "linux", "amd64", null)]
    [TestCase("", "amd64", null, "linux", "amd64", null)]
    [TestCase("windows", "s390x", null, "windows", "s390x", null)]
    public void Normalize_Table_AsContainerd(string os, string arch, string? variant, string expectedOs, string expectedArch, string? expectedVariant)
    {
        // Act
        var normalized = Platform.Normalize(new Platform(os, arch, variant));

        // Assert
        Assert.That((normalized.Os, normalized.Architecture, normalized.Variant), Is.EqualTo((expectedOs, expectedArch, expectedVariant)));
    }

    [Test]
    public void Normalize_OsVersionAndFeatures_Kept()
    {
        // Arrange
        var windows = new Platform("Windows", "amd64", null, "10.0.17763.1", ["win32k"]);

        // Act
        var normalized = Platform.Normalize(windows);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(normalized.Os, Is.EqualTo("windows"));
            Assert.That(normalized.OsVersion, Is.EqualTo("10.0.17763.1"));
            Assert.That(normalized.OsFeatures, Is.EqualTo(new[] { "win32k" }));
        }
    }

    [TestCase("linux/amd64", "linux", "x86_64", null, true)]
    [TestCase("linux/amd64", "", "amd64", null, true)]
    [TestCase("linux/amd64", "linux", "arm64", null, false)]
    [TestCase("linux/amd64", "windows", "amd64", null, false)]
    [TestCase("linux/arm64", "linux", "aarch64", "v8", true)]
    [TestCase("linux/arm/v7", "linux", "arm", "v6", true)]
    [TestCase("linux/arm/v7", "linux", "arm", "v5", true)]
    [TestCase("linux/arm/v7", "linux", "armhf", null, true)]
    [TestCase("linux/arm/v6", "linux", "arm", "v7", false)]
    [TestCase("linux/arm/v6", "linux", "arm", null, false)]
    public void Runs_Candidate_SameOsArchAndCompatibleVariant(string host, string os, string arch, string? variant, bool expected)
    {
        // Arrange
        var parts = host.Split('/');
        var self = new Platform(parts[0], parts[1], parts.Length > 2 ? parts[2] : null);

        // Act
        var runs = self.Runs(new Platform(os, arch, variant));

        // Assert
        Assert.That(runs, Is.EqualTo(expected));
    }

    [Test]
    public void Host_OfThisProcess_IsNormalizedLinux()
    {
        // Act
        var host = Platform.Host;

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(host.Os, Is.EqualTo("linux"));
            Assert.That(Platform.Normalize(host), Is.EqualTo(host));
            Assert.That(host.Runs(host), Is.True);
        }
    }

    [TestCase("linux", "arm", "v7", "linux/arm/v7")]
    [TestCase("linux", "amd64", null, "linux/amd64")]
    public void ToString_Platform_OsArchVariant(string os, string arch, string? variant, string expected)
    {
        Assert.That(new Platform(os, arch, variant).ToString(), Is.EqualTo(expected));
    }
}
