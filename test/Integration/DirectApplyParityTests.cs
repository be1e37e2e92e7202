using System.Formats.Tar;
using System.Text.Json;
using Imageimportd.Oci;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>
/// <c>--unpack-via direct</c> against containerd's own unpack (<c>--unpack-via diff</c>) on the same containerd, one
/// namespace each: every layer's snapshot directory (whiteout devices and opaque xattrs included) and the merged
/// read-only overlay must describe the same, except mtimes that are the moment of writing on both sides (the root,
/// whiteout devices, parent directories a layer does not list) (<see cref="SnapshotTree"/>), for a crafted layer set and real archives.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DirectApplyParityTests
{
    private TempDirectory _dir = null!;

    [OneTimeSetUp]
    public void SetUp() => _dir = new TempDirectory("direct-");

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task DirectApply_CraftedLayers_SameSnapshotsAsDiffService()
    {
        var image = CraftedImage();
        var archive = _dir.Write("crafted.tar", new OciLayoutBuilder().Add(image, refName: "docker.io/library/crafted:1").Build());

        await AssertSameUnpackAsync(archive, image.ConfigDigest.Value, layers: 3);
    }

    /// <summary>
    /// Layers GNU tar wrote: a file with a binary <c>security.capability</c> (and a binary user xattr), then sparse
    /// files in each of GNU tar's PAX sparse encodings (0.0, 0.1, 1.0), one layer each.
    /// </summary>
    [Test]
    public async Task DirectApply_GnuTarCapabilityAndSparseLayers_SameSnapshotsAsDiffService()
    {
        var layers = new List<TestLayer> { ImageBuilder.FromTar(await GnuTarLayers.CapabilityAsync(_dir.Path).Bounded(60), gzip: true) };
        foreach (var format in GnuTarLayers.SparseFormats)
        {
            layers.Add(ImageBuilder.FromTar(await GnuTarLayers.SparseAsync(_dir.Path, format).Bounded(60), gzip: true));
        }

        var image = ImageBuilder.Image(Platform.Host, layers, diffIds: null);
        var archive = _dir.Write("gnutar.tar", new OciLayoutBuilder().Add(image, refName: "docker.io/library/gnutar:1").Build());

        await AssertSameUnpackAsync(archive, image.ConfigDigest.Value, layers: layers.Count);
    }

    /// <summary>GNU tar's default sparse headers (old GNU 'S'): containerd's applier refuses them, and so does direct apply.</summary>
    [Test]
    public async Task DirectApply_OldGnuSparseLayer_RefusedLikeDiffService()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var layer = ImageBuilder.FromTar(await GnuTarLayers.SparseAsync(_dir.Path, GnuTarLayers.OldGnuSparse).Bounded(60), gzip: true);
        var archive = _dir.Write("oldgnu.tar", new OciLayoutBuilder().Add(ImageBuilder.Image(Platform.Host, [layer], diffIds: null), refName: "docker.io/library/oldgnu:1").Build());
        var nsDiff = SharedContainerd.NewNamespace("oldgnu-diff");
        var nsDirect = SharedContainerd.NewNamespace("oldgnu-direct");

        var viaDiff = await ImageimportdCli.RunAsync(containerd, nsDiff, "import-once", "--unpack-via", "diff", archive).Bounded(300);
        var viaDirect = await ImageimportdCli.RunAsync(containerd, nsDirect, "import-once", "--unpack-via", "direct", archive).Bounded(300);

        Assert.That(viaDiff.ExitCode, Is.Not.EqualTo(0), viaDiff.Output);
        Assert.That(viaDiff.Output, Does.Contain("unhandled tar header type 83"));
        Assert.That(viaDirect.ExitCode, Is.Not.EqualTo(0), viaDirect.Output);
        Assert.That(viaDirect.Output, Does.Contain("old GNU sparse entry"));
        Assert.That(await containerd.CtrFor(nsDirect).SnapshotsAsync().Bounded(), Is.Empty, "the refused layer's snapshot is removed");
    }

    [Test]
    public async Task DirectApply_ToolDockerArchive_SameSnapshotsAsDiffService()
    {
        var archive = await ToolArchives.DockerArchiveAsync(_dir.Combine("src"), ["docker.io/library/direct-tool:1"], CancellationToken.None).Bounded(300);

        await AssertSameUnpackAsync(archive.Path, archive.ConfigDigests.Values.Single(), layers: 3);
    }

    [Test]
    public async Task DirectApply_SkopeoDockerArchive_LayersAppliedFromTheStreamNotReadBackAndSameSnapshots()
    {
        // skopeo writes the layers first, bottom-up, named by digest: the order is known while they stream.
        var archive = await ToolArchives.DockerArchiveAsync(_dir.Combine("src"), ["docker.io/library/direct-stream:1"], CancellationToken.None).Bounded(300);

        var viaDirect = await AssertSameUnpackAsync(archive.Path, archive.ConfigDigests.Values.Single(), layers: 3, "--log-level", "debug");

        Assert.That(viaDirect.Output, Does.Contain("3 of 3 layer(s) applied from the archive stream, not read back"), viaDirect.Output);
    }

    [Test]
    public async Task DirectApply_UmociInsertLayersWithoutEndBlocks_AppliedFromTheStreamAndSameSnapshots()
    {
        // umoci insert ends its layer tars right after the last file's data; containerd reads that as the end.
        var archive = await ToolArchives.InsertedDockerArchiveAsync(_dir.Path, "docker.io/library/direct-inserted:1", CancellationToken.None).Bounded(300);

        var viaDirect = await AssertSameUnpackAsync(archive.Path, archive.ConfigDigests.Values.Single(), layers: 2, "--log-level", "debug");

        Assert.That(viaDirect.Output, Does.Contain("2 of 2 layer(s) applied from the archive stream, not read back"), viaDirect.Output);
    }

    [Test]
    public async Task DirectApply_ToolOciArchive_SameSnapshotsAsDiffService()
    {
        var archive = await ToolArchives.OciLayoutTarAsync(_dir.Combine("src"), new Dictionary<string, string> { ["docker.io/library/direct-other:1"] = ToolArchives.OtherTag }, CancellationToken.None).Bounded(300);

        await AssertSameUnpackAsync(archive.Path, archive.ConfigDigests.Values.Single(), layers: 2);
    }

    [TestCase("--unpack-via=auto", TestName = "UnpackViaAuto_SnapshotDirectoryVisible_AppliesDirectlyAndSaysWhyOnce")]
    [TestCase("", TestName = "UnpackViaDefault_SnapshotDirectoryVisible_AppliesDirectlyAndSaysWhyOnce")]
    public async Task UnpackViaAuto_SnapshotDirectoryVisible_AppliesDirectlyAndSaysWhy(string flag)
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("via-auto");
        var archive = _dir.Write("auto.tar", new OciLayoutBuilder().Add(CraftedImage(), refName: "docker.io/library/auto:1").Build());
        string[] via = flag.Length > 0 ? [flag] : [];

        var result = await ImageimportdCli.RunAsync(containerd, ns, ["import-once", .. via, archive]).Bounded(300);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(result.Output, Does.Contain("unpack via direct apply: running as root"));
        Assert.That(result.Output.Split("unpack via").Length - 1, Is.EqualTo(1), "said once for three layers:\n" + result.Output);
        Assert.That((await containerd.CtrFor(ns).CheckImagesAsync().Bounded()).Select(i => i.Unpacked), Is.All.True);
    }

    /// <summary>
    /// Three layers with what a snapshot can hold: setuid/setgid/sticky modes, owners, nanosecond mtimes, user xattrs,
    /// symlinks, hard links across directories, a FIFO, a device node, an 8 MiB mostly-zero file; then deletions,
    /// an opaque directory, a file replaced by a directory and a directory whited out and written again.
    /// </summary>
    private static TestImage CraftedImage()
    {
        var first = new TarBuilder(TarEntryFormat.Pax)
            .Directory("etc", mtime: 1500000000.25m)
            .File("etc/passwd", "root:x:0:0::/root:/bin/sh\n", uid: 0, gid: 0)
            .File("etc/gone", "to be deleted")
            .Directory("usr", mtime: 1500000001m)
            .Directory("usr/bin", mtime: 1500000002.9999999m)
            .File("usr/bin/su", "suid", (UnixFileMode)0x9ED, uid: 0, gid: 0, xattrs: new Dictionary<string, string> { ["user.kind"] = "setuid" })
            .File("usr/bin/sg", "sgid", (UnixFileMode)0x5ED, uid: 1000, gid: 1001)
            .Symlink("usr/bin/alias", "su")
            .Symlink("usr/abs", "/etc/passwd")
            .Directory("tmp", (UnixFileMode)0x3FF)
            .Directory("data", uid: 33, gid: 33, mtime: 1234567890.5m)
            .File("data/original", "shared inode", uid: 33, gid: 33)
            .HardLink("usr/bin/hardlinked", "data/original")
            .Fifo("data/pipe")
            .CharDevice("data/null", 1, 3)
            .SparseLike("data/sparse", 8 << 20, "the end"u8.ToArray())
            .Directory("opaque")
            .File("opaque/lower-file", "hidden later")
            .Directory("opaque/lower-dir")
            .File("opaque/lower-dir/deep", "hidden later")
            .File("becomes-dir", "file first")
            .Directory("dir-gone")
            .File("dir-gone/inner", "x")
            .ToArray();
        var second = new TarBuilder(TarEntryFormat.Pax)
            .Directory("etc", mtime: 1600000000m)
            .Whiteout("etc/gone")
            .File("etc/new", "added", (UnixFileMode)0x180)
            .Directory("opaque", (UnixFileMode)0x1C0, mtime: 1600000001m)
            .Opaque("opaque")
            .File("opaque/upper-file", "visible")
            .Directory("becomes-dir", mtime: 1600000002m)
            .File("becomes-dir/inside", "now a dir")
            .Whiteout("dir-gone")
            .Directory("links")
            .File("links/a", "second layer inode")
            .HardLink("links/b", "links/a")
            .ToArray();
        var third = new TarBuilder(TarEntryFormat.Pax)
            .Directory("dir-gone", (UnixFileMode)0x1FF, mtime: 1700000000m)
            .File("dir-gone/again", "back")
            .Directory("usr", mtime: 1700000001m)
            .Directory("usr/bin", mtime: 1700000002m)
            .File("usr/bin/su", "replaced", (UnixFileMode)0x9C0)
            .ToArray();
        return ImageBuilder.Image(Platform.Host, [ImageBuilder.FromTar(first, gzip: true), ImageBuilder.FromTar(second, gzip: true), ImageBuilder.FromTar(third, gzip: false)], diffIds: null);
    }

    /// <summary>Imports <paramref name="archive"/> both ways (<paramref name="extra"/> options too) and compares; returns the direct run.</summary>
    private async Task<ImageimportdCli.Result> AssertSameUnpackAsync(string archive, string configDigest, int layers, params string[] extra)
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var written = SnapshotTree.WrittenSince(DateTimeOffset.UtcNow.AddMinutes(-1));
        var nsDiff = SharedContainerd.NewNamespace("via-diff");
        var nsDirect = SharedContainerd.NewNamespace("via-direct");

        var viaDiff = await ImageimportdCli.RunAsync(containerd, nsDiff, ["import-once", "--unpack-via", "diff", .. extra, archive]).Bounded(300);
        var viaDirect = await ImageimportdCli.RunAsync(containerd, nsDirect, ["import-once", "--unpack-via", "direct", .. extra, archive]).Bounded(300);

        Assert.That(viaDiff.ExitCode, Is.EqualTo(0), viaDiff.Output);
        Assert.That(viaDirect.ExitCode, Is.EqualTo(0), viaDirect.Output);
        var ctrDiff = containerd.CtrFor(nsDiff);
        var ctrDirect = containerd.CtrFor(nsDirect);
        var chain = (await ctrDiff.ContentLabelsAsync(configDigest).Bounded())["containerd.io/gc.ref.snapshot.overlayfs"];
        Assert.That((await ctrDirect.ContentLabelsAsync(configDigest).Bounded())["containerd.io/gc.ref.snapshot.overlayfs"], Is.EqualTo(chain));

        await using var diffView = await SnapshotView.OpenAsync(ctrDiff, chain, _dir.Combine("mnt-" + nsDiff));
        await using var directView = await SnapshotView.OpenAsync(ctrDirect, chain, _dir.Combine("mnt-" + nsDirect));
        Assert.That(directView.LayerDirs, Has.Length.EqualTo(layers));
        Assert.That(diffView.LayerDirs, Has.Length.EqualTo(layers));
        Assert.That(directView.LayerDirs, Is.Not.EqualTo(diffView.LayerDirs), "two namespaces, two snapshot trees");
        for (var i = 0; i < layers; i++)
        {
            var differences = SnapshotTree.Differences(
                SnapshotTree.Describe(diffView.LayerDirs[i], written),
                SnapshotTree.Describe(directView.LayerDirs[i], written));
            Assert.That(differences, Is.Empty, $"layer dir {i} (top first), diff | direct:\n" + string.Join('\n', differences));
        }

        var merged = SnapshotTree.Differences(
            SnapshotTree.Describe(diffView.MergedDir, written),
            SnapshotTree.Describe(directView.MergedDir, written));
        Assert.That(merged, Is.Empty, "merged read-only tree, diff | direct:\n" + string.Join('\n', merged));
        return viaDirect;
    }

    /// <summary>A read-only view of a committed chain: its layer directories (top first) and the view mounted.</summary>
    private sealed class SnapshotView : IAsyncDisposable
    {
        private readonly Ctr _ctr;
        private readonly string _key;
        private bool _mounted;

        private SnapshotView(Ctr ctr, string key, string mergedDir)
        {
            _ctr = ctr;
            _key = key;
            MergedDir = mergedDir;
        }

        public string[] LayerDirs { get; private set; } = [];

        public string MergedDir { get; }

        public static async Task<SnapshotView> OpenAsync(Ctr ctr, string chain, string mergedDir)
        {
            var view = new SnapshotView(ctr, "cmp-" + Guid.NewGuid().ToString("N"), mergedDir);
            var json = await ctr.RunAsync(["snapshots", "--snapshotter", "overlayfs", "view", "--mounts", view._key, chain]).Bounded();
            using var doc = JsonDocument.Parse(json);
            var mount = doc.RootElement.EnumerateArray().Single();
            var type = Field(mount, "type").GetString()!;
            var source = Field(mount, "source").GetString()!;
            var options = Field(mount, "options").EnumerateArray().Select(o => o.GetString()!).ToList();
            view.LayerDirs = type == "overlay"
                ? options.Single(o => o.StartsWith("lowerdir=", StringComparison.Ordinal))["lowerdir=".Length..].Split(':')
                : [source];
            Directory.CreateDirectory(mergedDir);
            await Tools.RunAsync("mount", ["-t", type, source, mergedDir, "-o", string.Join(',', options.Append("ro"))], CancellationToken.None).Bounded();
            view._mounted = true;
            return view;
        }

        public async ValueTask DisposeAsync()
        {
            if (_mounted)
            {
                await Tools.RunAsync("umount", [MergedDir], CancellationToken.None).Bounded();
            }

            // Unchecked: a view made outside a lease may already be gone to containerd's GC (its layers are not).
            await _ctr.RunUncheckedAsync(["snapshots", "--snapshotter", "overlayfs", "rm", _key]).Bounded();
        }

        private static JsonElement Field(JsonElement element, string name) =>
            element.EnumerateObject().First(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)).Value;
    }
}
