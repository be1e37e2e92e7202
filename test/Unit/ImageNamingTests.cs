using Imageimportd.Images;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class ImageNamingTests
{
    private static readonly Digest Target = Digest.FromString("manifest");

    private static Descriptor Entry(string? imageName = null, string? refName = null) =>
        new(MediaTypes.OciManifest, Target, 100) { Annotations = ImageBuilder.Names(imageName, refName) };

    [Test]
    public void NameOf_ContainerdNameAnnotation_WinsOverRefName()
    {
        // Act
        var name = ImageNaming.NameOf(Entry("docker.io/library/alpine:3.19", "other"), "example.com/base", null, out var whyNot);

        // Assert
        Assert.That((name, whyNot), Is.EqualTo(("docker.io/library/alpine:3.19", (string?)null)));
    }

    [TestCase("example.com/base:1.0")]
    [TestCase("example.com/base/sub:1")]
    [TestCase("example.com/base@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [TestCase("example.com/base")]
    public void NameOf_FullRefNameUnderBaseName_UsedAsIs(string refName)
    {
        // Act
        var name = ImageNaming.NameOf(Entry(refName: refName), "example.com/base", null, out _);

        // Assert
        Assert.That(name, Is.EqualTo(refName));
    }

    [TestCase("example.com/app:1.0")]
    [TestCase("example.com/basement:1")]
    [TestCase("app:1")]
    public void NameOf_FullRefNameOutsideBaseName_NullWithReason(string refName)
    {
        // Act: containerd's FilterRefPrefix, which ctr's --base-name installs, drops these.
        var name = ImageNaming.NameOf(Entry(refName: refName), "example.com/base", null, out var whyNot);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(name, Is.Null);
            Assert.That(whyNot, Does.Contain(refName).And.Contain("--base-name example.com/base"));
        }
    }

    [TestCase("example.com/app:1.0")]
    [TestCase("app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")]
    [TestCase("app:1")]
    public void NameOf_FullRefNameWithTagPrefix_UsedAsIs(string refName)
    {
        Assert.That(ImageNaming.NameOf(Entry(refName: refName), null, "example.com/base", out _), Is.EqualTo(refName));
    }

    [Test]
    public void NameOf_TagOnlyRefNameWithTagPrefix_PrefixColonTag()
    {
        Assert.That(ImageNaming.NameOf(Entry(refName: "v1.2"), null, "example.com/base", out _), Is.EqualTo("example.com/base:v1.2"));
    }

    [Test]
    public void NameOf_TagOnlyRefNameWithBothNames_BaseNameWins()
    {
        Assert.That(ImageNaming.NameOf(Entry(refName: "v1.2"), "example.com/base", "example.com/other", out _), Is.EqualTo("example.com/base:v1.2"));
    }

    [Test]
    public void NameOf_TagOnlyRefNameWithBaseName_BaseColonTag()
    {
        // Act
        var name = ImageNaming.NameOf(Entry(refName: "v1.2"), "registry.example.com/team/app", null, out var whyNot);

        // Assert
        Assert.That((name, whyNot), Is.EqualTo(("registry.example.com/team/app:v1.2", (string?)null)));
    }

    [TestCase(null)]
    [TestCase("")]
    public void NameOf_TagOnlyRefNameWithoutBaseName_NullWithReason(string? baseName)
    {
        // Act
        var name = ImageNaming.NameOf(Entry(refName: "v1.2"), baseName, baseName, out var whyNot);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(name, Is.Null);
            Assert.That(whyNot, Does.Contain("\"v1.2\"").And.Contain("--base-name").And.Contain("--tag-prefix").And.Contain(Target.Value));
        }
    }

    [Test]
    public void NameOf_NoAnnotations_NullWithReason()
    {
        // Act
        var name = ImageNaming.NameOf(new Descriptor(MediaTypes.OciManifest, Target, 1), "example.com/base", null, out var whyNot);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(name, Is.Null);
            Assert.That(whyNot, Is.EqualTo($"manifest {Target} has no name annotation"));
        }
    }

    [TestCase("docker.io/library/alpine:3.19", "docker.io/library/alpine@")]
    [TestCase("alpine", "docker.io/library/alpine@")]
    [TestCase("localhost:5000/x:v1", "localhost:5000/x@")]
    public void DigestNameOf_TaggedName_RepositoryAtTargetDigest(string name, string expectedPrefix)
    {
        Assert.That(ImageNaming.DigestNameOf(name, Target), Is.EqualTo(expectedPrefix + Target.Value));
    }

    [TestCase("docker.io/library/alpine@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", TestName = "DigestNameOf_DigestName_Null")]
    [TestCase("Not A Reference", TestName = "DigestNameOf_InvalidName_Null")]
    public void DigestNameOf_NoTwin_Null(string name)
    {
        Assert.That(ImageNaming.DigestNameOf(name, Target), Is.Null);
    }
}
