using System.Text;
using Imageimportd.Oci;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>
/// GoJson must reproduce Go's encoding/json output for containerd's importer structs byte for byte. The expected texts
/// below were written by hand from importer.go's anonymous manifest struct and ocispec.Index/Descriptor/Platform (field
/// order, omitempty, sorted map keys, HTML-safe escaping); their digests were computed outside .NET with sha256sum.
/// </summary>
[TestFixture]
public sealed class GoJsonTests
{
    private const string ConfigHex = "b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910";
    private const string Layer0Hex = "4fbec69b941195fd56f8212a5000e304129451d82efca94ff0e0fb2d5355472e";
    private const string Layer1Hex = "77ea7eee3d80b1a38f83906dd3048e2689457eb90e18a7d12f839c5ae37106a2";

    private const string ExpectedManifest =
        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
        + "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"sha256:" + ConfigHex + "\",\"size\":1469},"
        + "\"layers\":[{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar\",\"digest\":\"sha256:" + Layer0Hex + "\",\"size\":5874688},"
        + "{\"mediaType\":\"application/vnd.docker.image.rootfs.diff.tar.gzip\",\"digest\":\"sha256:" + Layer1Hex + "\",\"size\":123}]}";

    // sha256sum of ExpectedManifest (583 bytes).
    private const string ExpectedManifestDigest = "sha256:9e93fde4637dedbb985e429b3a9d0aef57b0d03fb65ed2851c106e509f8d07bc";

    [Test]
    public void DockerManifest_ConfigAndTwoLayers_ExactGoBytesAndDigest()
    {
        // Arrange
        var config = new Descriptor(MediaTypes.DockerConfig, Digest.Parse("sha256:" + ConfigHex), 1469);
        Descriptor[] layers =
        [
            new(MediaTypes.DockerLayer, Digest.Parse("sha256:" + Layer0Hex), 5874688),
            new(MediaTypes.DockerLayerGzip, Digest.Parse("sha256:" + Layer1Hex), 123),
        ];

        // Act
        var bytes = GoJson.DockerManifest(config, layers);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Encoding.UTF8.GetString(bytes), Is.EqualTo(ExpectedManifest));
            Assert.That(bytes, Has.Length.EqualTo(583));
            Assert.That(Digest.FromBytes(bytes).Value, Is.EqualTo(ExpectedManifestDigest));
        }
    }

    [Test]
    public void Index_EntryWithAnnotationsAndPlatform_ExactGoBytesAndDigest()
    {
        // Arrange: annotations given in reverse order; Go writes map keys sorted.
        var entry = new Descriptor(MediaTypes.DockerManifest, Digest.Parse(ExpectedManifestDigest), 583)
        {
            Annotations = new Dictionary<string, string>
            {
                ["org.opencontainers.image.ref.name"] = "3.19",
                ["io.containerd.image.name"] = "docker.io/library/alpine:3.19",
            },
            Platform = new Platform("linux", "arm", "v7"),
        };
        var expected =
            "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
            + "\"digest\":\"" + ExpectedManifestDigest + "\",\"size\":583,"
            + "\"annotations\":{\"io.containerd.image.name\":\"docker.io/library/alpine:3.19\",\"org.opencontainers.image.ref.name\":\"3.19\"},"
            + "\"platform\":{\"architecture\":\"arm\",\"os\":\"linux\",\"variant\":\"v7\"}}]}";

        // Act
        var bytes = GoJson.Index([entry]);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Encoding.UTF8.GetString(bytes), Is.EqualTo(expected));
            Assert.That(Digest.FromBytes(bytes).Value, Is.EqualTo("sha256:dcb54a910d7adca21aec16b2eaad2ba2c15241c590eff3ca927a09f0ffd470ba"));
        }
    }

    [Test]
    public void Index_NoManifests_WritesNullAsGoDoesForNilSlice()
    {
        // Act
        var empty = Encoding.UTF8.GetString(GoJson.Index([]));
        var nil = Encoding.UTF8.GetString(GoJson.Index(null));

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(empty, Is.EqualTo("{\"schemaVersion\":2,\"manifests\":null}"));
            Assert.That(nil, Is.EqualTo(empty));
            Assert.That(Digest.FromBytes(GoJson.Index(null)).Value, Is.EqualTo("sha256:1aeb2daf6ecc2e13405aabdceb09b76cb007f661c50b412183eb04f684f1dc5b"));
        }
    }

    [Test]
    public void Index_DescriptorAllFields_GoFieldOrderAndOmitEmpty()
    {
        // Arrange: Go's ocispec.Descriptor order is mediaType, digest, size, urls, annotations, (data), platform, artifactType;
        // Platform's is architecture, os, os.version, os.features, variant.
        var digest = Digest.Parse("sha256:" + ConfigHex);
        var full = new Descriptor(MediaTypes.OciManifest, digest, 7)
        {
            Urls = ["https://a/b"],
            Annotations = new Dictionary<string, string> { ["k"] = "v" },
            Platform = new Platform("windows", "amd64", "v2", "10.0", ["win32k"]),
            ArtifactType = "application/x-test",
        };
        var bare = new Descriptor("", digest, 0) { Urls = [], Annotations = new Dictionary<string, string>() };

        // Act
        var text = Encoding.UTF8.GetString(GoJson.Index([full, bare]));

        // Assert
        Assert.That(text, Is.EqualTo(
            "{\"schemaVersion\":2,\"manifests\":["
            + "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" + ConfigHex + "\",\"size\":7,"
            + "\"urls\":[\"https://a/b\"],\"annotations\":{\"k\":\"v\"},"
            + "\"platform\":{\"architecture\":\"amd64\",\"os\":\"windows\",\"os.version\":\"10.0\",\"os.features\":[\"win32k\"],\"variant\":\"v2\"},"
            + "\"artifactType\":\"application/x-test\"},"
            + "{\"digest\":\"sha256:" + ConfigHex + "\",\"size\":0}]}"));
    }

    // Go 1.19's encodeState.string with escapeHTML (json.Marshal's default).
    [TestCase("plain", "\"plain\"")]
    [TestCase("<a&b>", "\"\\u003ca\\u0026b\\u003e\"")]
    [TestCase("say \"hi\" \\o/", "\"say \\\"hi\\\" \\\\o/\"")]
    [TestCase("a\nb\rc\td", "\"a\\nb\\rc\\td\"")]
    [TestCase("\u0001\u001f", "\"\\u0001\\u001f\"")]
    [TestCase("\b\f", "\"\\u0008\\u000c\"")]
    [TestCase("line\u2028para\u2029", "\"line\\u2028para\\u2029\"")]
    [TestCase("del\u007f", "\"del\u007f\"")]
    [TestCase("é€😀", "\"é€😀\"")]
    [TestCase("/path'quote", "\"/path'quote\"")]
    public void Escape_String_AsGoEncodingJson(string input, string expected)
    {
        Assert.That(GoJson.Escape(input), Is.EqualTo(expected));
    }

    [Test]
    public void Escape_NulCharacter_UnicodeEscape()
    {
        // Arrange: kept out of [TestCase] so no test name carries a NUL (XML test reports cannot hold one).
        var input = "a" + (char)0 + "b";

        // Act
        var escaped = GoJson.Escape(input);

        // Assert
        Assert.That(escaped, Is.EqualTo("\"a\\u0000b\""));
    }

    [Test]
    public void Escape_LoneSurrogate_ReplacementEscapeAsGoForInvalidUtf8()
    {
        // Arrange: built at run time; attribute arguments are stored as UTF-8 and could not carry a lone surrogate.
        var input = "bad" + (char)0xD800 + "x" + (char)0xDC00;

        // Act
        var escaped = GoJson.Escape(input);

        // Assert
        Assert.That(escaped, Is.EqualTo("\"bad\\ufffdx\\ufffd\""));
    }

    [Test]
    public void Index_AnnotationKeys_SortedByUtf8BytesAndEscaped()
    {
        // Arrange: by UTF-16 code units U+FFFD sorts after the surrogates of 😀; by UTF-8 bytes (EF… < F0…) before it.
        var entry = new Descriptor("", Digest.Parse("sha256:" + ConfigHex), 1)
        {
            Annotations = new Dictionary<string, string>
            {
                ["😀"] = "4",
                ["\ufffd"] = "3",
                ["b"] = "2",
                ["B"] = "1",
                ["a<"] = "0",
            },
        };

        // Act
        var text = Encoding.UTF8.GetString(GoJson.Index([entry]));

        // Assert
        Assert.That(text, Does.Contain("\"annotations\":{\"B\":\"1\",\"a\\u003c\":\"0\",\"b\":\"2\",\"\ufffd\":\"3\",\"😀\":\"4\"}"));
    }
}
