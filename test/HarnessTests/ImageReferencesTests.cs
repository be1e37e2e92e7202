using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.HarnessTests;

[TestFixture]
public sealed class ImageReferencesTests
{
    [TestCase("alpine", "docker.io/library/alpine:latest")]
    [TestCase("alpine:3.19", "docker.io/library/alpine:3.19")]
    [TestCase("team/app:1", "docker.io/team/app:1")]
    [TestCase("localhost/app", "localhost/app:latest")]
    [TestCase("127.0.0.1:5000/app:1", "127.0.0.1:5000/app:1")]
    [TestCase("quay.io/org/app@sha256:abc", "quay.io/org/app@sha256:abc")]
    [TestCase("docker.io/library/foo:1.0", "docker.io/library/foo:1.0")]
    public void Normalize_Reference_MatchesDockerRules(string reference, string expected) =>
        Assert.That(ImageReferences.Normalize(reference), Is.EqualTo(expected));

    [Test]
    public void ExpectedNames_OciFullRefOutsideBaseName_FilteredLikeCtr()
    {
        var archive = new ToolArchive(
            "x.tar",
            ArchiveFormat.OciLayoutTar,
            ["v1", "docker.io/library/foo:1.0", "docker.io/library/foobar:1.0"],
            new Dictionary<string, string>(),
            new Dictionary<string, string>());

        Assert.That(archive.ExpectedNames("docker.io/library/foo"), Is.EqualTo(new[] { "docker.io/library/foo:v1", "docker.io/library/foo:1.0" }));
    }
}
