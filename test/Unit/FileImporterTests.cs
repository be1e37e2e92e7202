using System.Globalization;
using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Import;
using Imageimportd.Leases;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using Imageimportd.Unpack;
using NUnit.Framework;
using TempDirectory = Imageimportd.Tests.Harness.TempDirectory;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class FileImporterTests
{
    private static ImportOptions Options => new()
    {
        Host = ImageBuilder.LinuxAmd64,
        ContentWrite = new ContentWriteOptions { ChunkBytes = 4096 },
    };

    private static Task<ImportResult> ImportAsync(InMemoryBackend backend, string path, ImportOptions? options = null) =>
        new FileImporter(backend, options ?? Options).ImportAsync(path, CancellationToken.None).WithTimeout();

    private static Dictionary<string, string> ExpectedLabels(string path, bool pinned = true)
    {
        var labels = new Dictionary<string, string> { [ImageLabels.Source] = Path.GetFullPath(path) };
        if (pinned)
        {
            labels[ImageLabels.CriPinned] = ImageLabels.CriPinnedValue;
            labels[ImageLabels.Pinned] = ImageLabels.PinnedValue;
        }

        return labels;
    }

    [Test]
    public async Task ImportAsync_DockerArchive_CreatesPinnedImageAndDigestNameThenUnpacks()
    {
        // Arrange
        using var temp = new TempDirectory();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base", gzip: true), ImageBuilder.Layer("app"));
        var path = temp.Write("alpine.tar", ImageBuilder.DockerArchive(image, "alpine:3.19"));
        var backend = new InMemoryBackend();

        // Act
        var result = await ImportAsync(backend, path);

        // Assert
        var target = result.Images[0].Target;
        var chain = ChainId.Chain([.. image.Layers.Select(l => l.DiffId)]);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Images.Select(i => (i.Name, i.Change)), Is.EqualTo(new[]
            {
                ("docker.io/library/alpine:3.19", ImageChange.Created),
                ($"docker.io/library/alpine@{target.Digest}", ImageChange.Created),
            }));
            Assert.That(target.MediaType, Is.EqualTo(MediaTypes.DockerManifest));
            Assert.That(backend.ImageStore.All.Select(i => i.Target), Has.All.EqualTo(target));
            Assert.That(backend.ImageStore.All.Select(i => i.Labels), Has.All.EquivalentTo(ExpectedLabels(path)));
            Assert.That(result.Warnings, Is.Empty);
            Assert.That(result.LayersUnpacked, Is.EqualTo(2));
            Assert.That(backend.SnapshotterNamed("overlayfs").CommittedNames, Is.EquivalentTo(chain.Select(c => c.Value)));
            Assert.That(backend.ContentStore.LabelsOf(image.ConfigDigest)["containerd.io/gc.ref.snapshot.overlayfs"], Is.EqualTo(chain[1].Value));
            Assert.That(backend.ContentStore.LabelsOf(target.Digest), Does.ContainKey("containerd.io/gc.ref.content.config"));
            Assert.That(result.BytesRead, Is.GreaterThan(0));
        }
    }

    [Test]
    public async Task ImportAsync_SameOciArchiveTwice_SecondRunUnchangedSendsAndWritesNothing()
    {
        // Arrange
        using var temp = new TempDirectory();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base", gzip: true), ImageBuilder.Layer("app", gzip: true));
        var path = temp.Write("app.tar", new OciLayoutBuilder().Add(image, imageName: "registry.example.com/app:1").Build());
        var backend = new InMemoryBackend();
        await ImportAsync(backend, path);
        var writes = backend.ImageStore.Writes;
        var bytes = backend.ContentStore.BytesWritten;

        // Act
        var again = await ImportAsync(backend, path);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(again.Images, Has.Count.EqualTo(2));
            Assert.That(again.Images.Select(i => i.Change), Has.All.EqualTo(ImageChange.Unchanged));
            Assert.That(backend.ImageStore.Writes, Is.EqualTo(writes));
            Assert.That(again.BytesSent, Is.Zero);
            Assert.That(backend.ContentStore.BytesWritten, Is.EqualTo(bytes));
            Assert.That(again.LayersUnpacked, Is.Zero);
        }
    }

    [Test]
    public async Task ImportAsync_SameDockerArchiveTwice_SecondRunUnchangedWithoutImageWrites()
    {
        // Arrange
        using var temp = new TempDirectory();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var path = temp.Write("a.tar", ImageBuilder.DockerArchive(image, "a:1", "b:2"));
        var backend = new InMemoryBackend();
        var first = await ImportAsync(backend, path);
        var writes = backend.ImageStore.Writes;

        // Act
        var again = await ImportAsync(backend, path);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(writes, Is.EqualTo(4), "two tags, each with its digest name");
            Assert.That(again.Images.Select(i => i.Name), Is.EqualTo(first.Images.Select(i => i.Name)));
            Assert.That(again.Images.Select(i => i.Change), Has.All.EqualTo(ImageChange.Unchanged));
            Assert.That(backend.ImageStore.Writes, Is.EqualTo(writes));
        }
    }

    [Test]
    public async Task ImportAsync_PinDisabled_ImagesCarryOnlyTheSourceLabel()
    {
        // Arrange
        using var temp = new TempDirectory();
        var path = temp.Write("a.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("base")), "a:1"));
        var backend = new InMemoryBackend();

        // Act
        await ImportAsync(backend, path, Options with { Pin = false });

        // Assert
        Assert.That(backend.ImageStore.All.Select(i => i.Labels), Has.All.EquivalentTo(ExpectedLabels(path, pinned: false)));
    }

    [Test]
    public async Task ImportAsync_ExistingUnpinnedImage_RelabeledWithoutMovingTarget()
    {
        // Arrange
        using var temp = new TempDirectory();
        var path = temp.Write("a.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("base")), "a:1"));
        var backend = new InMemoryBackend();
        await ImportAsync(backend, path, Options with { Pin = false });

        // Act
        var result = await ImportAsync(backend, path);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Images.Select(i => i.Change), Has.All.EqualTo(ImageChange.Relabeled));
            Assert.That(backend.ImageStore.Updates, Is.EqualTo(2));
            Assert.That(backend.ImageStore.All.Select(i => i.Labels), Has.All.EquivalentTo(ExpectedLabels(path)));
        }
    }

    [Test]
    public async Task ImportAsync_TagNowOnAnotherImage_RepointedWithPreviousDigest()
    {
        // Arrange
        using var temp = new TempDirectory();
        var old = ImageBuilder.Image(ImageBuilder.Layer("v1"));
        var @new = ImageBuilder.Image(ImageBuilder.Layer("v2"));
        var backend = new InMemoryBackend();
        var first = await ImportAsync(backend, temp.Write("v1.tar", ImageBuilder.DockerArchive(old, "app:latest")));
        var oldTarget = first.Images[0].Target.Digest;

        // Act
        var second = await ImportAsync(backend, temp.Write("v2.tar", ImageBuilder.DockerArchive(@new, "app:latest")));

        // Assert
        var tagged = second.Images.Single(i => i.Name == "docker.io/library/app:latest");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(tagged.Change, Is.EqualTo(ImageChange.Repointed));
            Assert.That(tagged.PreviousTarget, Is.EqualTo(oldTarget));
            Assert.That(tagged.Target.Digest, Is.Not.EqualTo(oldTarget));
            Assert.That(backend.ImageStore.All.Single(i => i.Name == tagged.Name).Target.Digest, Is.EqualTo(tagged.Target.Digest));
            Assert.That(second.Images.Single(i => i.Name.Contains('@', StringComparison.Ordinal)).Change, Is.EqualTo(ImageChange.Created));
            Assert.That(backend.ImageStore.All.Select(i => i.Name), Does.Contain($"docker.io/library/app@{oldTarget}"), "the old digest name stays");
        }
    }

    [Test]
    public async Task ImportAsync_Success_LeaseCreatedUsedAndDeleted()
    {
        // Arrange
        using var temp = new TempDirectory();
        var path = temp.Write("a.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("base")), "a:1"));
        var backend = new InMemoryBackend();
        var before = DateTime.UtcNow;

        // Act
        await ImportAsync(backend, path);

        // Assert
        var (id, labels) = backend.LeaseManager.Created.Single();
        var expires = DateTime.ParseExact(labels[ContentLabels.GcExpire], "yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        using (Assert.EnterMultipleScope())
        {
            Assert.That(backend.LeaseManager.Deleted, Is.EqualTo(new[] { id }));
            Assert.That(backend.LeaseManager.Active, Is.Empty);
            Assert.That(backend.LeasesUsed, Is.Not.Empty.And.All.EqualTo(id));
            Assert.That(labels[ImportLeases.FileLabel], Is.EqualTo(path));
            Assert.That(LeaseOwner.Parse(labels[LeaseOwner.Label]), Is.EqualTo(LeaseOwner.Current(ProcProcessTable.Instance)));
            Assert.That(expires, Is.EqualTo(before.AddHours(24)).Within(TimeSpan.FromMinutes(1)));
        }
    }

    [TestCase("garbage.tar", TestName = "ImportAsync_NotATar_ThrowsDeletesLeaseCreatesNoImage")]
    [TestCase("empty.tar", TestName = "ImportAsync_EmptyFile_ThrowsDeletesLeaseCreatesNoImage")]
    public async Task ImportAsync_BadArchive_ThrowsDeletesLeaseCreatesNoImage(string name)
    {
        // Arrange
        using var temp = new TempDirectory();
        var bytes = new byte[name == "empty.tar" ? 0 : 4096];
        new Random(7).NextBytes(bytes);
        var path = temp.Write(name, bytes);
        var backend = new InMemoryBackend();

        // Act
        await AsyncAssert.ThrowsAsync<InvalidDataException>(() => ImportAsync(backend, path));

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(backend.ImageStore.All, Is.Empty);
            Assert.That(backend.LeaseManager.Created, Has.Count.EqualTo(1));
            Assert.That(backend.LeaseManager.Active, Is.Empty);
            Assert.That(backend.ContentStore.ActiveIngests, Is.Empty);
        }
    }

    [Test]
    public async Task ImportAsync_MissingFile_ThrowsFileNotFoundAndDeletesLease()
    {
        // Arrange
        using var temp = new TempDirectory();
        var backend = new InMemoryBackend();

        // Act
        await AsyncAssert.ThrowsAsync<FileNotFoundException>(() => ImportAsync(backend, Path.Combine(temp.Path, "gone.tar")));

        // Assert
        Assert.That((backend.LeaseManager.Created.Count, backend.LeaseManager.Active.Count), Is.EqualTo((1, 0)));
    }

    [Test]
    public async Task ImportAsync_UnpackFails_NoImageRecordWritten()
    {
        // Arrange: the config lies about its layer's diff ID, so unpacking fails after all content is in.
        using var temp = new TempDirectory();
        var layer = ImageBuilder.Layer("base");
        var image = ImageBuilder.Image(ImageBuilder.LinuxAmd64, [layer], [Digest.FromString("lie")]);
        var path = temp.Write("a.tar", ImageBuilder.DockerArchive(image, "a:1"));
        var backend = new InMemoryBackend();

        // Act
        await AsyncAssert.ThrowsAsync<InvalidDataException>(() => ImportAsync(backend, path));

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(backend.ImageStore.Writes, Is.Zero);
            Assert.That(backend.LeaseManager.Active, Is.Empty);
            Assert.That(backend.ContentStore.Contains(layer.BlobDigest), Is.True, "content stays for the lease to release");
        }
    }

    [Test]
    public async Task ImportAsync_UnnamedOciEntry_WarnsAndCreatesNoImageForIt()
    {
        // Arrange
        using var temp = new TempDirectory();
        var named = ImageBuilder.Image(ImageBuilder.Layer("named"));
        var unnamed = ImageBuilder.Image(ImageBuilder.Layer("unnamed"));
        var path = temp.Write("two.tar", new OciLayoutBuilder().Add(unnamed).Add(named, imageName: "example.com/named:1").Build());
        var backend = new InMemoryBackend();

        // Act
        var result = await ImportAsync(backend, path);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Warnings, Has.Count.EqualTo(1));
            Assert.That(result.Warnings[0], Does.EndWith($"manifest {unnamed.ManifestDigest} has no name annotation"));
            Assert.That(backend.ImageStore.All.Select(i => i.Name), Is.EquivalentTo(new[] { "example.com/named:1", $"example.com/named@{named.ManifestDigest}" }));
            Assert.That(backend.ImageStore.All.Select(i => i.Target.Digest), Has.None.EqualTo(unnamed.ManifestDigest));
        }
    }

    [Test]
    public async Task ImportAsync_TagOnlyRefNameWithBaseName_NamedUnderBaseName()
    {
        // Arrange
        using var temp = new TempDirectory();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var path = temp.Write("a.tar", new OciLayoutBuilder().Add(image, refName: "v2").Build());
        var backend = new InMemoryBackend();

        // Act
        var result = await ImportAsync(backend, path, Options with { BaseName = "registry.example.com/team/app" });

        // Assert
        Assert.That(result.Images.Select(i => i.Name), Is.EqualTo(new[]
        {
            "registry.example.com/team/app:v2",
            $"registry.example.com/team/app@{image.ManifestDigest}",
        }));
    }

    [Test]
    public async Task ImportAsync_TagOnlyRefNameWithoutBaseName_FailsNamingTheCauseAndCreatesNothing()
    {
        // Arrange
        using var temp = new TempDirectory();
        var path = temp.Write("a.tar", new OciLayoutBuilder().Add(ImageBuilder.Image(ImageBuilder.Layer("base")), refName: "v2").Build());
        var backend = new InMemoryBackend();

        // Act
        var ex = Assert.ThrowsAsync<InvalidDataException>(() => ImportAsync(backend, path));

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(ex!.Message, Does.Contain("yields no image").And.Contain("--base-name"));
            Assert.That(backend.ImageStore.Writes, Is.Zero);
        }
    }

    [Test]
    public async Task ImportAsync_MultiPlatformIndexWithoutOtherPlatformBlobs_ImportsIndexAndUnpacksHost()
    {
        // Arrange
        using var temp = new TempDirectory();
        var amd = ImageBuilder.Image(ImageBuilder.LinuxAmd64, ImageBuilder.Layer("amd-1", gzip: true), ImageBuilder.Layer("amd-2", gzip: true));
        var arm = ImageBuilder.Image(ImageBuilder.LinuxArm64, ImageBuilder.Layer("arm", gzip: true));
        var index = ImageBuilder.Index(amd, arm);
        var tar = new OciLayoutBuilder().Add(index, imageName: "docker.io/library/multi:1").Omit(arm.ConfigDigest).Omit(arm.Layers[0].BlobDigest).Build();
        var path = temp.Write("multi.tar", tar);
        var backend = new InMemoryBackend();

        // Act
        var result = await ImportAsync(backend, path);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Warnings, Is.Empty);
            Assert.That(result.Images.Select(i => (i.Target.MediaType, i.Target.Digest)), Has.All.EqualTo((MediaTypes.OciIndex, index.Digest)));
            Assert.That(result.LayersUnpacked, Is.EqualTo(2));
            Assert.That(backend.DiffApplier.Applied.Select(a => a.Layer.Digest), Is.EqualTo(amd.Layers.Select(l => l.BlobDigest)));
        }
    }

    [Test]
    public async Task ImportAsync_EntryMissingHostLayer_SkippedWithWarningOthersImported()
    {
        // Arrange
        using var temp = new TempDirectory();
        var good = ImageBuilder.Image(ImageBuilder.Layer("good"));
        var broken = ImageBuilder.Image(ImageBuilder.Layer("present"), ImageBuilder.Layer("absent"));
        var tar = new OciLayoutBuilder()
            .Add(good, imageName: "example.com/good:1")
            .Add(broken, imageName: "example.com/broken:1")
            .Omit(broken.Layers[1].BlobDigest)
            .Build();
        var path = temp.Write("mixed.tar", tar);
        var backend = new InMemoryBackend();

        // Act
        var result = await ImportAsync(backend, path);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Images.Select(i => i.Name), Is.EqualTo(new[] { "example.com/good:1", $"example.com/good@{good.ManifestDigest}" }));
            Assert.That(result.Warnings.Single(), Is.EqualTo($"example.com/broken:1: skipped, the archive lacks 1 blob(s), e.g. {broken.Layers[1].BlobDigest}"));
        }
    }

    [Test]
    public async Task ImportAsync_GzipCompressedArchiveFile_Imported()
    {
        // Arrange
        using var temp = new TempDirectory();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var path = temp.Write("a.tar.gz", ImageBuilder.Gzip(ImageBuilder.DockerArchive(image, "a:1")));
        var backend = new InMemoryBackend();

        // Act
        var result = await ImportAsync(backend, path);

        // Assert
        Assert.That((result.Images.Count, result.LayersUnpacked), Is.EqualTo((2, 1)));
    }

    [Test]
    public async Task ImportAsync_Docker25Archive_NamedFromIndexAnnotationsWithOciTarget()
    {
        // Arrange
        using var temp = new TempDirectory();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var path = temp.Write("d25.tar", ImageBuilder.Docker25Archive(image, "alpine:3.19"));
        var backend = new InMemoryBackend();

        // Act
        var result = await ImportAsync(backend, path);

        // Assert
        Assert.That(result.Images.Select(i => (i.Name, i.Target.MediaType, i.Target.Digest)), Is.EqualTo(new[]
        {
            ("docker.io/library/alpine:3.19", MediaTypes.OciManifest, image.ManifestDigest),
            ($"docker.io/library/alpine@{image.ManifestDigest}", MediaTypes.OciManifest, image.ManifestDigest),
        }));
    }

    [Test]
    public async Task ImportAsync_UnpackDisabled_ImagesCreatedWithoutSnapshots()
    {
        // Arrange
        using var temp = new TempDirectory();
        var path = temp.Write("a.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("base")), "a:1"));
        var backend = new InMemoryBackend();

        // Act
        var result = await ImportAsync(backend, path, Options with { Unpack = false });

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Images, Has.Count.EqualTo(2));
            Assert.That(result.LayersUnpacked, Is.Zero);
            Assert.That(backend.SnapshotterNamed("overlayfs").CommittedNames, Is.Empty);
            Assert.That(backend.DiffApplier.Applied, Is.Empty);
        }
    }

    [Test]
    public async Task ImportAsync_ImageForAnotherPlatform_ImportedWithNotUnpackedWarning()
    {
        // Arrange
        using var temp = new TempDirectory();
        var image = ImageBuilder.Image(ImageBuilder.LinuxArm64, ImageBuilder.Layer("arm"));
        var path = temp.Write("arm.tar", ImageBuilder.DockerArchive(image, "arm:1"));
        var backend = new InMemoryBackend();

        // Act
        var result = await ImportAsync(backend, path);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Images, Has.Count.EqualTo(2));
            Assert.That(result.LayersUnpacked, Is.Zero);
            Assert.That(result.Warnings.Single(), Does.EndWith("no manifest for linux/amd64; not unpacked"));
        }
    }

    [Test]
    public async Task ImportAsync_NamedEntryIsEmptyIndex_SkippedWithWarningOthersImported()
    {
        // Arrange: an index with no manifests is not complete (ImportWalk: "an index with at least one such manifest"),
        // so it must be skipped with a warning like any other incomplete entry, not fail the whole file.
        using var temp = new TempDirectory();
        var good = ImageBuilder.Image(ImageBuilder.Layer("good"));
        var empty = ImageBuilder.Index([], []);
        var tar = new OciLayoutBuilder()
            .Add(empty, imageName: "example.com/empty:1")
            .Add(good, imageName: "example.com/good:1")
            .Build();
        var path = temp.Write("empty-index.tar", tar);
        var backend = new InMemoryBackend();

        // Act
        var result = await ImportAsync(backend, path);

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Images.Select(i => i.Name), Is.EqualTo(new[] { "example.com/good:1", $"example.com/good@{good.ManifestDigest}" }));
            Assert.That(result.Warnings.Single(), Does.StartWith("example.com/empty:1: skipped"));
        }
    }

    [Test]
    public async Task ImportAsync_StoreHasCompressedSubstituteOfLayer_ManifestUsesItAndItGetsTheLabels()
    {
        // Arrange: an earlier pull left gzip(layer) labelled with the layer's uncompressed digest.
        using var temp = new TempDirectory();
        var layer = ImageBuilder.Layer("pulled");
        var image = ImageBuilder.Image(layer);
        var backend = new InMemoryBackend();
        var gz = ImageBuilder.Gzip(layer.Tar);
        var gzDigest = backend.ContentStore.Put(gz, new Dictionary<string, string> { [ContentLabels.Uncompressed] = layer.DiffId.Value });
        var path = temp.Write("a.tar", ImageBuilder.DockerArchive(image, "a:1"));

        // Act
        var result = await ImportAsync(backend, path);

        // Assert
        var manifest = ImageJson.ParseManifest(backend.ContentStore.Get(result.Images[0].Target.Digest), "manifest");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(manifest.Layers.Single(), Is.EqualTo(new Descriptor(MediaTypes.DockerLayerGzip, gzDigest, gz.Length)));
            Assert.That(backend.SnapshotterNamed("overlayfs").CommittedNames, Is.EqualTo(new[] { layer.DiffId.Value }));
            Assert.That(result.LayersUnpacked, Is.EqualTo(1));
            // Labels as containerd's unpacker leaves them: on the blob the manifest names, and only there. (Unpack-ahead
            // may apply the identical plain blob, the config's diff ID, before the manifest exists.)
            Assert.That(backend.ContentStore.LabelsOf(gzDigest)[ContentLabels.Uncompressed], Is.EqualTo(layer.DiffId.Value));
            Assert.That(backend.ContentStore.LabelsOf(layer.BlobDigest), Does.Not.ContainKey(ContentLabels.Uncompressed));
        }
    }

    [Test]
    public async Task ImportAsync_CreateLosesRaceToAnotherWriter_FallsBackToUpdate()
    {
        // Arrange: the name does not exist at Get, but someone creates it before our Create.
        using var temp = new TempDirectory();
        var path = temp.Write("a.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("base")), "a:1"));
        var backend = new InMemoryBackend();
        var racer = new Descriptor(MediaTypes.OciManifest, Digest.FromString("racer"), 1);
        var raced = false;
        backend.ImageStore.WriteFault = name =>
        {
            if (raced || name != "docker.io/library/a:1")
            {
                return null;
            }

            raced = true;
            backend.ImageStore.Seed(new ImageRecord(name, racer, new Dictionary<string, string>()));
            return new BackendException(FailureKind.AlreadyExists, "image exists");
        };

        // Act
        var result = await ImportAsync(backend, path);

        // Assert
        var tagged = result.Images.Single(i => i.Name == "docker.io/library/a:1");
        using (Assert.EnterMultipleScope())
        {
            Assert.That((tagged.Change, tagged.PreviousTarget), Is.EqualTo((ImageChange.Repointed, (Digest?)racer.Digest)));
            Assert.That(backend.ImageStore.All.Single(i => i.Name == tagged.Name).Target.Digest, Is.EqualTo(tagged.Target.Digest));
        }
    }

    [Test]
    public async Task ImportAsync_TwoFilesConcurrently_SeparateLeasesBothImported()
    {
        // Arrange
        using var temp = new TempDirectory();
        var a = temp.Write("a.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("a1"), ImageBuilder.Layer("a2")), "a:1"));
        var b = temp.Write("b.tar", new OciLayoutBuilder().Add(ImageBuilder.Image(ImageBuilder.Layer("b1", gzip: true)), imageName: "example.com/b:1").Build());
        var backend = new InMemoryBackend();
        backend.ContentStore.AsynchronousWrites = true;

        // Act
        var results = await Task.WhenAll(ImportAsync(backend, a), ImportAsync(backend, b)).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(results.Select(r => r.Images.Count), Is.EqualTo(new[] { 2, 2 }));
            Assert.That(backend.LeaseManager.Created.Select(l => l.Id).Distinct().Count(), Is.EqualTo(2));
            Assert.That(backend.LeaseManager.Active, Is.Empty);
            Assert.That(backend.ContentStore.ActiveIngests, Is.Empty);
        }
    }

    [Test]
    public async Task ImportAsync_LeaseDeleteFails_ImportSucceedsAndNextImportDeletesTheOrphan()
    {
        // Arrange: containerd is unreachable just when the first import deletes its lease.
        using var temp = new TempDirectory();
        var a = temp.Write("a.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("a")), "a:1"));
        var b = temp.Write("b.tar", ImageBuilder.DockerArchive(ImageBuilder.Image(ImageBuilder.Layer("b")), "b:1"));
        var backend = new InMemoryBackend();
        var failures = 1;
        backend.LeaseManager.DeleteFault = _ => failures-- > 0 ? new BackendException(FailureKind.Unavailable, "connection refused") : null;
        var importer = new FileImporter(backend, Options);

        // Act
        var first = await importer.ImportAsync(a, CancellationToken.None).WithTimeout();
        var orphan = backend.LeaseManager.Active.Single();
        await importer.ImportAsync(b, CancellationToken.None).WithTimeout();

        // Assert
        using (Assert.EnterMultipleScope())
        {
            Assert.That(first.Images, Has.Count.EqualTo(2));
            Assert.That(backend.LeaseManager.Active, Is.Empty);
            Assert.That(backend.LeaseManager.Deleted[0], Is.EqualTo(orphan), "the orphan goes first, before the next import's own lease");
            Assert.That(backend.LeaseManager.Deleted, Has.Count.EqualTo(2));
        }
    }

    /// <summary>
    /// The order skopeo and podman write a docker-archive in: layers as &lt;hex&gt;.tar bottom-up (or under
    /// <paramref name="layerNames"/>), config, manifest.json.
    /// </summary>
    private static byte[] SkopeoStyleDockerArchive(TestImage image, string repoTag, IReadOnlyList<string>? layerNames = null)
    {
        var names = layerNames ?? [.. image.Layers.Select(l => l.DiffId.Hex + ".tar")];
        using var tar = new TarBuilder();
        for (var i = 0; i < image.Layers.Count; i++)
        {
            tar.File(names[i], image.Layers[i].Blob);
        }

        tar.File(image.ConfigDigest.Hex + ".json", image.Config);
        var layers = string.Join(",", names.Select(n => $"\"{n}\""));
        tar.File("manifest.json", $"[{{\"Config\":\"{image.ConfigDigest.Hex}.json\",\"RepoTags\":[\"{repoTag}\"],\"Layers\":[{layers}]}}]");
        return tar.ToArray();
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task ImportAsync_SkopeoStyleDockerArchive_SameImageAndSnapshotsWithOrWithoutUnpackAhead(bool ahead)
    {
        // Arrange
        using var temp = new TempDirectory();
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"), ImageBuilder.Layer("mid"), ImageBuilder.Layer("app"));
        var path = temp.Write("app.tar", SkopeoStyleDockerArchive(image, "app:1"));
        var backend = new InMemoryBackend();
        var chain = ChainId.Chain([.. image.Layers.Select(l => l.DiffId)]);

        // Act
        var result = await ImportAsync(backend, path, Options with { UnpackAhead = ahead });

        // Assert
        var snapshots = backend.SnapshotterNamed("overlayfs");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(result.Images.Select(i => i.Name), Is.EqualTo(new[] { "docker.io/library/app:1", $"docker.io/library/app@{result.Images[0].Target.Digest}" }));
            Assert.That(result.LayersUnpacked, Is.EqualTo(3));
            Assert.That(snapshots.CommittedNames, Is.EquivalentTo(chain.Select(c => c.Value)));
            Assert.That(snapshots.ActiveKeys, Is.Empty);
            Assert.That(backend.DiffApplier.Applied, Has.Count.EqualTo(3));
            Assert.That(backend.ContentStore.LabelsOf(image.ConfigDigest)["containerd.io/gc.ref.snapshot.overlayfs"], Is.EqualTo(chain[2].Value));
            Assert.That(image.Layers.Select(l => backend.ContentStore.LabelsOf(l.BlobDigest)[ContentLabels.Uncompressed]), Is.EqualTo(image.Layers.Select(l => l.DiffId.Value)));
        }
    }

    [Test]
    public async Task ImportAsync_StoreHasCompressedSubstituteOfNamedLayer_LayerIsNotSentAndTheSubstituteIsHeldByTheLease()
    {
        // Arrange: a pull left gzip(base) labelled with base's digest; the docker-archive names base <digest>.tar.
        using var temp = new TempDirectory();
        var layer = ImageBuilder.Layer("base");
        var app = ImageBuilder.Layer("app");
        var image = ImageBuilder.Image(layer, app);
        var backend = new InMemoryBackend();
        var gz = ImageBuilder.Gzip(layer.Tar);
        var gzDigest = backend.ContentStore.Put(gz, new Dictionary<string, string> { [ContentLabels.Uncompressed] = layer.DiffId.Value });
        var path = temp.Write("a.tar", SkopeoStyleDockerArchive(image, "a:1"));
        var options = Options with { ContentWrite = new ContentWriteOptions { ChunkBytes = 1024 } };
        var withoutSubstitute = await ImportAsync(new InMemoryBackend(), path, options);

        // Act
        var result = await ImportAsync(backend, path, options);

        // Assert
        var manifest = ImageJson.ParseManifest(backend.ContentStore.Get(result.Images[0].Target.Digest), "manifest");
        var chain = ChainId.Chain([layer.DiffId, app.DiffId]);
        var lease = backend.LeaseManager.Created.Single().Id;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(backend.ContentStore.Contains(layer.BlobDigest), Is.False, "the layer was sent");
            // Less the layer; the generated manifest, which names the gzip substitute, may be a few bytes longer.
            Assert.That(result.BytesSent, Is.InRange(withoutSubstitute.BytesSent - layer.Blob.Length, withoutSubstitute.BytesSent - layer.Blob.Length + 32));
            Assert.That(backend.LeaseManager.ContentAdded, Is.EqualTo(new[] { (lease, gzDigest) }));
            Assert.That(manifest.Layers[0], Is.EqualTo(new Descriptor(MediaTypes.DockerLayerGzip, gzDigest, gz.Length)));
            Assert.That(backend.SnapshotterNamed("overlayfs").CommittedNames, Is.EquivalentTo(chain.Select(c => c.Value)));
            Assert.That(result.Warnings, Is.Empty);
        }
    }

    [Test]
    public async Task ImportAsync_LayerNamedForASubstituteButHoldingOtherBytes_ImportsAgainAndStoresTheRealBytes()
    {
        // Arrange: the archive names its layer after "other", whose substitute the store has; the bytes are "base".
        using var temp = new TempDirectory();
        var layer = ImageBuilder.Layer("base");
        var other = ImageBuilder.Layer("other");
        var image = ImageBuilder.Image(layer);
        var backend = new InMemoryBackend();
        backend.ContentStore.Put(ImageBuilder.Gzip(other.Tar), new Dictionary<string, string> { [ContentLabels.Uncompressed] = other.DiffId.Value });
        var path = temp.Write("a.tar", SkopeoStyleDockerArchive(image, "a:1", [other.DiffId.Hex + ".tar"]));

        // Act
        var result = await ImportAsync(backend, path, Options with { ContentWrite = new ContentWriteOptions { ChunkBytes = 1024 } });

        // Assert
        var manifest = ImageJson.ParseManifest(backend.ContentStore.Get(result.Images[0].Target.Digest), "manifest");
        using (Assert.EnterMultipleScope())
        {
            Assert.That(manifest.Layers.Single().Digest, Is.EqualTo(layer.BlobDigest));
            Assert.That(backend.ContentStore.Contains(layer.BlobDigest), Is.True);
            Assert.That(backend.SnapshotterNamed("overlayfs").CommittedNames, Is.EqualTo(new[] { layer.DiffId.Value }));
            Assert.That(backend.LeaseManager.Active, Is.Empty);
        }
    }
}
