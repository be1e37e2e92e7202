using Imageimportd.Oci;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class DigestTests
{
    private const string EmptySha256 = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    [Test]
    public void FromBytes_Empty_IsWellKnownSha256()
    {
        // Act
        var digest = Digest.FromBytes([]);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(digest.Value, Is.EqualTo(EmptySha256));
            Assert.That(digest.Algorithm, Is.EqualTo("sha256"));
            Assert.That(digest.Hex, Has.Length.EqualTo(64));
        }
    }

    [TestCase(EmptySha256)]
    [TestCase("sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e")]
    public void Parse_ValidDigest_RoundTrips(string text)
    {
        // Act
        var digest = Digest.Parse(text);

        // Assert
        Assert.That(digest.ToString(), Is.EqualTo(text));
    }

    [TestCase("md5:d41d8cd98f00b204e9800998ecf8427e", TestName = "TryParse_UnsupportedAlgorithmMd5_Rejected")]
    [TestCase("sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b", TestName = "TryParse_UnsupportedAlgorithmSha384_Rejected")]
    [TestCase("SHA256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", TestName = "TryParse_UppercaseAlgorithm_Rejected")]
    [TestCase("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", TestName = "TryParse_UppercaseHex_Rejected")]
    [TestCase("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85", TestName = "TryParse_HexOneShort_Rejected")]
    [TestCase("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8555", TestName = "TryParse_HexOneLong_Rejected")]
    [TestCase("sha256:g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", TestName = "TryParse_NonHexCharacter_Rejected")]
    [TestCase("sha512:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", TestName = "TryParse_Sha512WithSha256Length_Rejected")]
    [TestCase("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", TestName = "TryParse_NoAlgorithm_Rejected")]
    [TestCase(":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", TestName = "TryParse_EmptyAlgorithm_Rejected")]
    [TestCase("sha256:../../../../etc/passwd/e3b0c44298fc1c149afbf4c8996fb9242", TestName = "TryParse_PathTraversal_Rejected")]
    [TestCase("", TestName = "TryParse_Empty_Rejected")]
    public void TryParse_Invalid_Rejected(string text)
    {
        // Act
        var ok = Digest.TryParse(text, out var digest);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ok, Is.False);
            Assert.That(digest.IsEmpty, Is.True);
            Assert.That(() => Digest.Parse(text), Throws.TypeOf<FormatException>());
        }
    }

    [Test]
    public void TryParse_Null_ReturnsFalse()
    {
        Assert.That(Digest.TryParse(null, out _), Is.False);
    }

    [Test]
    public void Equality_SameValue_EqualWithSameHashCode()
    {
        // Arrange
        var a = Digest.Parse(EmptySha256);
        var b = Digest.FromBytes([]);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(a == b, Is.True);
            Assert.That(a != b, Is.False);
            Assert.That(a.Equals((object)b), Is.True);
            Assert.That(a.GetHashCode(), Is.EqualTo(b.GetHashCode()));
            Assert.That(a, Is.Not.EqualTo(Digest.FromString("x")));
        }
    }

    [Test]
    public void CompareTo_Digests_OrdinalOrderOfFullText()
    {
        // Arrange: "sha256:0…" < "sha256:a…" < "sha512:0…" as containerd's bolt keys sort.
        var low = Digest.Parse("sha256:" + new string('0', 64));
        var mid = Digest.Parse("sha256:" + new string('a', 64));
        var high = Digest.Parse("sha512:" + new string('0', 128));

        // Act
        var sorted = new[] { high, mid, low }.Order().ToArray();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(sorted, Is.EqualTo(new[] { low, mid, high }));
            Assert.That(low < mid && mid < high && high > low, Is.True);
            Assert.That(low <= Digest.Parse(low.Value) && low >= Digest.Parse(low.Value), Is.True);
        }
    }

    [Test]
    public void Default_Value_IsEmptyAndValueThrows()
    {
        // Arrange
        var digest = default(Digest);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(digest.IsEmpty, Is.True);
            Assert.That(digest.ToString(), Is.Empty);
            Assert.That(() => digest.Value, Throws.InvalidOperationException);
        }
    }
}
