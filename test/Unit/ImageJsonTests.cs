using System.Text;
using Imageimportd.Oci;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class ImageJsonTests
{
    private const string D1 = "sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910";
    private const string D2 = "sha256:4fbec69b941195fd56f8212a5000e304129451d82efca94ff0e0fb2d5355472e";

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    [Test]
    public void ParseManifest_Valid_ReadsConfigLayersAndAnnotations()
    {
        // Arrange
        var json = Utf8($$"""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{{D1}}","size":10},
             "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{{D2}}","size":20,"annotations":{"a":"b","n":5},"urls":["u"]}]}
            """);

        // Act
        var manifest = ImageJson.ParseManifest(json, "m");

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(manifest.MediaType, Is.EqualTo(MediaTypes.OciManifest));
            Assert.That(manifest.Config, Is.EqualTo(new Descriptor(MediaTypes.OciConfig, Digest.Parse(D1), 10)));
            Assert.That(manifest.Layers, Has.Count.EqualTo(1));
            Assert.That(manifest.Layers[0].Size, Is.EqualTo(20));
            Assert.That(manifest.Layers[0].Annotations, Is.EquivalentTo(new Dictionary<string, string> { ["a"] = "b" }), "non-string annotation values are dropped");
            Assert.That(manifest.Layers[0].Urls, Is.EqualTo(new[] { "u" }));
        }
    }

    [TestCase("""{"config":{"digest":"sha256:abc","size":1}}""", "digest", TestName = "ParseManifest_ShortDigest_InvalidData")]
    [TestCase("""{"config":{"digest":"SHA256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910","size":1}}""", "digest", TestName = "ParseManifest_UppercaseAlgorithm_InvalidData")]
    [TestCase("""{"config":{"size":1}}""", "digest", TestName = "ParseManifest_MissingDigest_InvalidData")]
    [TestCase("""{"config":{"digest":"sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910","size":"1"}}""", "size", TestName = "ParseManifest_SizeAsString_InvalidData")]
    [TestCase("""{"config":{"digest":"sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910","size":-1}}""", "size", TestName = "ParseManifest_NegativeSize_InvalidData")]
    [TestCase("""{"config":{"digest":"sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910","size":1.5}}""", "size", TestName = "ParseManifest_FractionalSize_InvalidData")]
    [TestCase("""{"config":"x"}""", "expected a JSON object", TestName = "ParseManifest_ConfigNotObject_InvalidData")]
    [TestCase("""{"layers":[]}""", "missing \"config\"", TestName = "ParseManifest_NoConfig_InvalidData")]
    [TestCase("""{"config":{"digest":"sha256:b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910"},"layers":{}}""", "\"layers\" is not an array", TestName = "ParseManifest_LayersObject_InvalidData")]
    [TestCase("""[1,2]""", "expected a JSON object", TestName = "ParseManifest_Array_InvalidData")]
    [TestCase("""{"config":""", "invalid JSON", TestName = "ParseManifest_TruncatedJson_InvalidData")]
    public void ParseManifest_Malformed_ThrowsInvalidDataNamingTheDocument(string json, string messagePart)
    {
        // Act
        var ex = Assert.Throws<InvalidDataException>(() => ImageJson.ParseManifest(Utf8(json), "manifest X"));

        // Assert
        Assert.That(ex.Message, Does.StartWith("manifest X").And.Contain(messagePart));
    }

    [TestCase("""{"manifests":{}}""", TestName = "ParseIndex_ManifestsObject_InvalidData")]
    [TestCase("""{"manifests":[1]}""", TestName = "ParseIndex_ManifestNumber_InvalidData")]
    [TestCase("""{"manifests":[{"digest":"sha256:zz"}]}""", TestName = "ParseIndex_BadEntryDigest_InvalidData")]
    [TestCase("""null""", TestName = "ParseIndex_Null_InvalidData")]
    public void ParseIndex_Malformed_ThrowsInvalidData(string json)
    {
        Assert.That(() => ImageJson.ParseIndex(Utf8(json), "index.json"), Throws.TypeOf<InvalidDataException>().With.Message.StartsWith("index.json"));
    }

    [Test]
    public void ParseIndex_NullManifests_Empty()
    {
        // Act
        var index = ImageJson.ParseIndex(Utf8("""{"schemaVersion":2,"manifests":null}"""), "index.json");

        // Assert
        Assert.That(index.Manifests, Is.Empty);
    }

    [Test]
    public void ParseIndex_EntryPlatform_ReadsAllPlatformFields()
    {
        // Arrange
        var json = Utf8($$$"""{"manifests":[{"mediaType":"x","digest":"{{{D1}}}","size":3,"platform":{"architecture":"arm","os":"linux","variant":"v7","os.version":"1","os.features":["f"]}}]}""");

        // Act
        var entry = ImageJson.ParseIndex(json, "i").Manifests.Single();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entry.Platform?.ToString(), Is.EqualTo("linux/arm/v7"));
            Assert.That(entry.Platform?.OsVersion, Is.EqualTo("1"));
            Assert.That(entry.Platform?.OsFeatures, Is.EqualTo(new[] { "f" }));
        }
    }

    [Test]
    public void ParseConfig_Valid_ReadsPlatformAndDiffIds()
    {
        // Arrange
        var json = Utf8($$$"""{"architecture":"arm64","os":"linux","variant":"v8","rootfs":{"type":"layers","diff_ids":["{{{D1}}}","{{{D2}}}"]}}""");

        // Act
        var config = ImageJson.ParseConfig(json, "config");

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That((config.Platform.Os, config.Platform.Architecture, config.Platform.Variant), Is.EqualTo(("linux", "arm64", "v8")));
            Assert.That(config.DiffIds, Is.EqualTo(new[] { Digest.Parse(D1), Digest.Parse(D2) }));
        }
    }

    [TestCase("""{"rootfs":{"diff_ids":["sha256:nothex"]}}""", TestName = "ParseConfig_BadDiffId_InvalidData")]
    [TestCase("""{"rootfs":{"diff_ids":[7]}}""", TestName = "ParseConfig_NumericDiffId_InvalidData")]
    [TestCase("""{"rootfs":{"diff_ids":[null]}}""", TestName = "ParseConfig_NullDiffId_InvalidData")]
    public void ParseConfig_BadDiffIds_ThrowsInvalidData(string json)
    {
        Assert.That(() => ImageJson.ParseConfig(Utf8(json), "config c"), Throws.TypeOf<InvalidDataException>().With.Message.Contains("diff_ids"));
    }

    [Test]
    public void ParseDockerManifests_KeysInAnyCase_MatchedAsGoDoes()
    {
        // Arrange: Go decodes manifest.json into an untagged struct, so field names match case-insensitively.
        var json = Utf8("""[{"config":"c.json","repotags":["a:1"],"LAYERS":["l/layer.tar"],"Other":1},{"CONFIG":"d.json","RepoTags":null}]""");

        // Act
        var entries = ImageJson.ParseDockerManifests(json, "manifest.json");

        // Assert
        Assert.That(entries, Is.Not.Null);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(entries!, Has.Count.EqualTo(2));
            Assert.That(entries![0].Config, Is.EqualTo("c.json"));
            Assert.That(entries[0].RepoTags, Is.EqualTo(new[] { "a:1" }));
            Assert.That(entries[0].Layers, Is.EqualTo(new[] { "l/layer.tar" }));
            Assert.That(entries[1].Config, Is.EqualTo("d.json"));
            Assert.That(entries[1].RepoTags, Is.Empty);
        }
    }

    [Test]
    public void ParseDockerManifests_NullDocument_ReturnsNullAsGoLeavesNilSlice()
    {
        Assert.That(ImageJson.ParseDockerManifests(Utf8("null"), "manifest.json"), Is.Null);
    }

    [Test]
    public void ParseDockerManifests_SameFieldTwiceInDifferentCase_LastOneWinsAsInGo()
    {
        // Arrange: Go assigns each matching key to the same field in turn (a slice is reset, not appended to),
        // so the later key wins: RepoTags ends up ["b:2"]. The tags become index annotations, so this is image identity.
        var json = Utf8("""[{"Config":"c.json","RepoTags":["a:1"],"repotags":["b:2"],"Layers":[]}]""");

        // Act
        var entries = ImageJson.ParseDockerManifests(json, "manifest.json");

        // Assert
        Assert.That(entries?[0].RepoTags, Is.EqualTo(new[] { "b:2" }));
    }

    [TestCase("""{"Config":"c"}""", "expected an array", TestName = "ParseDockerManifests_Object_InvalidData")]
    [TestCase("""[{"Config":5}]""", "Config is not a string", TestName = "ParseDockerManifests_NumericConfig_InvalidData")]
    [TestCase("""[{"Config":"c","RepoTags":"a:1"}]""", "RepoTags", TestName = "ParseDockerManifests_RepoTagsString_InvalidData")]
    [TestCase("""[{"Config":"c","Layers":[1]}]""", "Layers", TestName = "ParseDockerManifests_NumericLayer_InvalidData")]
    [TestCase("""[1]""", "expected a JSON object", TestName = "ParseDockerManifests_NumberEntry_InvalidData")]
    public void ParseDockerManifests_WrongTypes_ThrowsInvalidData(string json, string messagePart)
    {
        Assert.That(() => ImageJson.ParseDockerManifests(Utf8(json), "manifest.json"), Throws.TypeOf<InvalidDataException>().With.Message.Contains(messagePart));
    }

    [TestCase("""{"imageLayoutVersion":"1.0.0"}""", "1.0.0")]
    [TestCase("""{}""", "")]
    public void ParseLayoutVersion_Document_Version(string json, string expected)
    {
        Assert.That(ImageJson.ParseLayoutVersion(Utf8(json), "oci-layout"), Is.EqualTo(expected));
    }

    [TestCase("""{"mediaType":"application/vnd.oci.image.index.v1+json"}""", "application/vnd.oci.image.index.v1+json")]
    [TestCase("""{"schemaVersion":2}""", null)]
    [TestCase("""not json""", null)]
    [TestCase("""["mediaType"]""", null)]
    public void PeekMediaType_Document_MediaTypeOrNull(string json, string? expected)
    {
        Assert.That(ImageJson.PeekMediaType(Utf8(json)), Is.EqualTo(expected));
    }
}
