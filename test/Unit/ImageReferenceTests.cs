using Imageimportd.References;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class ImageReferenceTests
{
    private const string Hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    // Expected values are what containerd's reference/docker.ParseDockerRef(...).String() gives.
    [TestCase("alpine", "docker.io/library/alpine:latest")]
    [TestCase("alpine:3.19", "docker.io/library/alpine:3.19")]
    [TestCase("user/app:1", "docker.io/user/app:1")]
    [TestCase("library/alpine", "docker.io/library/alpine:latest")]
    [TestCase("docker.io/alpine", "docker.io/library/alpine:latest")]
    [TestCase("index.docker.io/x", "docker.io/library/x:latest")]
    [TestCase("index.docker.io/org/x:v2", "docker.io/org/x:v2")]
    [TestCase("localhost/x", "localhost/x:latest")]
    [TestCase("localhost:5000/x", "localhost:5000/x:latest")]
    [TestCase("registry.io/a/b:tag", "registry.io/a/b:tag")]
    [TestCase("Registry.IO:443/a/b", "Registry.IO:443/a/b:latest")]
    [TestCase("quay.io/a_b/c-d.e__f:T_1.x-y", "quay.io/a_b/c-d.e__f:T_1.x-y")]
    [TestCase("k8s.gcr.io/pause@sha256:" + Hex, "k8s.gcr.io/pause@sha256:" + Hex)]
    [TestCase("alpine:3.19@sha256:" + Hex, "docker.io/library/alpine@sha256:" + Hex)]
    public void Normalize_Reference_AsContainerdParseDockerRef(string input, string expected)
    {
        // Act
        var reference = ImageReference.Normalize(input);

        // Assert
        Assert.That(reference.ToString(), Is.EqualTo(expected));
    }

    [Test]
    public void Normalize_TagAndDigest_KeepsDigestOnly()
    {
        // Act
        var reference = ImageReference.Normalize($"registry.io/a/b:tag@sha256:{Hex}");

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(reference.Domain, Is.EqualTo("registry.io"));
            Assert.That(reference.Path, Is.EqualTo("a/b"));
            Assert.That(reference.Tag, Is.Null);
            Assert.That(reference.Digest?.Value, Is.EqualTo("sha256:" + Hex));
            Assert.That(reference.OciRefName, Is.EqualTo("@sha256:" + Hex));
        }
    }

    [TestCase("Alpine", "must be lowercase", TestName = "Normalize_UppercaseRepository_Rejected")]
    [TestCase("User/app:1", "must be lowercase", TestName = "Normalize_UppercaseFirstPathComponent_Rejected")]
    [TestCase("registry.io/Team/app", "must be lowercase", TestName = "Normalize_UppercasePathBehindDomain_Rejected")]
    [TestCase(Hex, "64-byte hexadecimal", TestName = "Normalize_SixtyFourHexIdentifier_Rejected")]
    [TestCase("", "empty", TestName = "Normalize_Empty_Rejected")]
    [TestCase("alpine:", "invalid reference format", TestName = "Normalize_EmptyTag_Rejected")]
    [TestCase("alpine::1", "invalid reference format", TestName = "Normalize_DoubleColon_Rejected")]
    [TestCase("-alpine", "invalid reference format", TestName = "Normalize_LeadingDash_Rejected")]
    [TestCase("alpine@sha256:abc", "invalid reference format", TestName = "Normalize_ShortDigest_Rejected")]
    [TestCase("alpine@md5:d41d8cd98f00b204e9800998ecf8427e", "invalid digest", TestName = "Normalize_UnsupportedDigestAlgorithm_Rejected")]
    [TestCase("http://registry.io/a", "invalid reference format", TestName = "Normalize_Url_Rejected")]
    public void Normalize_Invalid_ThrowsFormatException(string input, string messagePart)
    {
        // Act
        var ok = ImageReference.TryNormalize(input, out var parsed, out var error);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ok, Is.False);
            Assert.That(parsed, Is.Null);
            Assert.That(error, Does.Contain(messagePart));
            Assert.That(() => ImageReference.Normalize(input), Throws.TypeOf<FormatException>().With.Message.Contains(messagePart));
        }
    }

    [Test]
    public async Task TryNormalize_LongInvalidName_RejectedWithoutCatastrophicBacktracking()
    {
        // Arrange: a RepoTag or pull-list line comes from untrusted input. Go's RE2 matches the distribution grammar in
        // linear time; a backtracking engine on the same pattern ("[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*", where
        // [-]* may be empty) tries every split of a letter run, doubling the time per extra character.
        var input = new string('a', 14) + "!";

        // Act: on the pool with a short budget, so the bug fails this test instead of stalling the suite.
        var rejected = Task.Run(() => !ImageReference.TryNormalize(input, out _, out _));

        // Assert
        Assert.That(await rejected.WaitAsync(TimeSpan.FromSeconds(2)), Is.True);
    }

    [Test]
    public void Normalize_NameOver255Characters_Rejected()
    {
        // Arrange: "docker.io/library/" (18) + 238 = 256 characters of name.
        var name = new string('a', 238);

        // Act
        var ok = ImageReference.TryNormalize(name, out _, out var error);

        // Assert
        Assert.That((ok, error), Is.EqualTo((false, (string?)$"repository name must not be more than 255 characters: \"docker.io/library/{name}\"")));
    }

    [TestCase("docker.io/library/alpine:latest", "latest")]
    [TestCase("localhost:5000/x:v1.2", "v1.2")]
    [TestCase("alpine@sha256:" + Hex, "@sha256:" + Hex)]
    public void OciRefName_NormalizedReference_TagOrAtDigest(string input, string expected)
    {
        Assert.That(ImageReference.Normalize(input).OciRefName, Is.EqualTo(expected));
    }

    [TestCase("latest", false)]
    [TestCase("v1.2.3", false)]
    [TestCase("app/x", true)]
    [TestCase("app:1", true)]
    [TestCase("@sha256:" + Hex, true)]
    public void IsFullReference_RefName_TrueOnlyWithSlashColonOrAt(string refName, bool expected)
    {
        Assert.That(ImageReference.IsFullReference(refName), Is.EqualTo(expected));
    }

    [TestCase("latest", true)]
    [TestCase("v1.2_3-rc", true)]
    [TestCase(".hidden", false)]
    [TestCase("-dash", false)]
    [TestCase("a/b", false)]
    public void IsValidTag_Tag_FollowsGrammar(string tag, bool expected)
    {
        Assert.That(ImageReference.IsValidTag(tag), Is.EqualTo(expected));
    }

    [Test]
    public void WithDigestOnly_TaggedReference_DropsTag()
    {
        // Arrange
        var reference = ImageReference.Normalize("alpine:3.19");
        var digest = Oci.Digest.Parse("sha256:" + Hex);

        // Act
        var pinned = reference.WithDigestOnly(digest);

        // Assert
        Assert.That(pinned.ToString(), Is.EqualTo("docker.io/library/alpine@sha256:" + Hex));
    }
}
