using System.Formats.Tar;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using Imageimportd.Unpack.Direct;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>
/// <see cref="LayerApplier"/> on a temp dir (as root): what each entry becomes, and that hostile names, links and
/// whiteouts are resolved inside the root as containerd resolves them, or refused, with nothing outside changed.
/// </summary>
[TestFixture]
public sealed class LayerApplierTests
{
    private TempDirectory _dir = null!;
    private string _root = null!;
    private string _outside = null!;

    [SetUp]
    public void SetUp()
    {
        _dir = new TempDirectory("applier-");
        _root = _dir.Combine("root");
        Directory.CreateDirectory(_root);
        _outside = _dir.Combine("outside");
        Directory.CreateDirectory(_outside);
        File.WriteAllText(Path.Combine(_outside, "secret"), "keep");
    }

    [TearDown]
    public void TearDown() => _dir.Dispose();

    [Test]
    public async Task Apply_EveryFileType_KeepsWhatTheEntrySays()
    {
        var tar = new TarBuilder(TarEntryFormat.Pax)
            .Directory("d", (UnixFileMode)0x3ED, uid: 7, gid: 8, mtime: 1600000000.1234567m)
            .File("d/suid", "x", (UnixFileMode)0x9ED, uid: 1, gid: 2, xattrs: new Dictionary<string, string> { ["user.note"] = "hello" })
            .File("d/sticky-setgid", "y", (UnixFileMode)0x5FF)
            .Symlink("d/link", "../d/suid")
            .HardLink("other-name", "d/suid", (UnixFileMode)0x9ED, uid: 1, gid: 2)
            .Fifo("fifo")
            .CharDevice("null", 1, 3)
            .BlockDevice("loop", 7, 300)
            .SparseLike("big", 3 << 20, "end"u8.ToArray())
            .ToArray();

        await Apply(tar, WhiteoutStyle.Remove);

        var tree = SnapshotTree.Describe(_root, SnapshotTree.WrittenMtimes);
        Assert.That(tree["d"], Does.StartWith("dir mode=1755 owner=7:8 mtime=1600000000.123456700"));
        Assert.That(tree["d/suid"], Does.StartWith("file mode=4755 owner=1:2"));
        Assert.That(tree["d/suid"], Does.Contain("xattr:user.note=" + Convert.ToHexStringLower("hello"u8)));
        Assert.That(tree["d/suid"], Does.EndWith("inode-of=d/suid"));
        Assert.That(tree["other-name"], Does.EndWith("inode-of=d/suid"));
        Assert.That(tree["d/sticky-setgid"], Does.StartWith("file mode=2777"));
        Assert.That(tree["d/link"], Does.StartWith("symlink").And.Contain("-> ../d/suid"));
        Assert.That(tree["fifo"], Does.StartWith("fifo mode=644"));
        Assert.That(tree["null"], Does.StartWith("char mode=666").And.Contain("rdev=103"));
        Assert.That(tree["loop"], Does.StartWith("block mode=660"));
        Assert.That(new FileInfo(Path.Combine(_root, "big")).Length, Is.EqualTo(3 << 20));
        Assert.That(tree["big"], Does.Contain($"mtime={TarBuilder.DefaultTime.ToUnixTimeSeconds()}.000000000"));
    }

    [Test]
    public async Task Apply_StreamEndsAfterTheLastFilesData_AppliedAsGoReadsIt()
    {
        // umoci writes layers like this: the last file's data, then no padding and no end-of-archive blocks.
        var whole = new TarBuilder(TarEntryFormat.Pax).Directory("etc").File("etc/os-release", new string('x', 267)).ToArray();
        var dataEnd = Array.LastIndexOf(whole, (byte)'x') + 1;

        await Apply(whole[..dataEnd], WhiteoutStyle.Remove);

        Assert.That(File.ReadAllText(Path.Combine(_root, "etc", "os-release")), Is.EqualTo(new string('x', 267)));
    }

    [Test]
    public void Apply_StreamEndsInsideAFilesData_Refused()
    {
        var whole = new TarBuilder(TarEntryFormat.Pax).Directory("etc").File("etc/os-release", new string('x', 267)).ToArray();
        var dataEnd = Array.LastIndexOf(whole, (byte)'x') + 1;

        var ex = Assert.ThrowsAsync<InvalidDataException>(() => Apply(whole[..(dataEnd - 1)], WhiteoutStyle.Remove));

        Assert.That(ex!.Message, Does.Contain("1 bytes of an entry missing"));
    }

    [Test]
    public async Task Apply_DotDotAndAbsoluteNames_ClampedAtTheRoot()
    {
        var before = SnapshotTree.Describe(_outside);
        var tar = new TarBuilder(TarEntryFormat.Pax).File("../../outside/secret", "pwned").File("/outside/abs", "pwned").File("a/../../../../x", "clamped").ToArray();

        await Apply(tar, WhiteoutStyle.Remove);

        Assert.That(File.ReadAllText(Path.Combine(_root, "outside", "secret")), Is.EqualTo("pwned"));
        Assert.That(File.Exists(Path.Combine(_root, "outside", "abs")));
        Assert.That(File.ReadAllText(Path.Combine(_root, "x")), Is.EqualTo("clamped"));
        Assert.That(SnapshotTree.Differences(before, SnapshotTree.Describe(_outside)), Is.Empty);
    }

    [Test]
    public async Task Apply_WriteThroughSymlinkToOutside_LandsInsideTheRoot()
    {
        var before = SnapshotTree.Describe(_outside);
        var tar = new TarBuilder(TarEntryFormat.Pax)
            .Symlink("abs", _outside)
            .Symlink("rel", "../../../../outside")
            .File("abs/secret", "pwned")
            .File("rel/secret", "pwned too")
            .Directory("abs", (UnixFileMode)0x1FF)
            .ToArray();

        await Apply(tar, WhiteoutStyle.Remove);

        Assert.That(File.ReadAllText(Path.Combine(_root + _outside, "secret")), Is.EqualTo("pwned"));
        Assert.That(File.ReadAllText(Path.Combine(_root, "outside", "secret")), Is.EqualTo("pwned too"));
        Assert.That(Directory.Exists(Path.Combine(_root, "abs")) && PosixFs.ReadLink(Path.Combine(_root, "abs")) is null, "the dir entry replaces the link");
        Assert.That(SnapshotTree.Differences(before, SnapshotTree.Describe(_outside)), Is.Empty);
    }

    [Test]
    public async Task Apply_SymlinkLastComponentThenFile_ReplacesTheLink()
    {
        var before = SnapshotTree.Describe(_outside);
        var tar = new TarBuilder(TarEntryFormat.Pax).Symlink("f", Path.Combine(_outside, "secret")).File("f", "mine", (UnixFileMode)0x1FF).ToArray();

        await Apply(tar, WhiteoutStyle.Remove);

        Assert.That(PosixFs.ReadLink(Path.Combine(_root, "f")), Is.Null);
        Assert.That(SnapshotTree.Differences(before, SnapshotTree.Describe(_outside)), Is.Empty);
    }

    [Test]
    public void Apply_HardlinkToOutside_RefusedAndNothingOutsideChanges()
    {
        var before = SnapshotTree.Describe(_outside);
        var tar = new TarBuilder(TarEntryFormat.Pax).HardLink("h", "../../outside/secret").ToArray();

        Assert.That(async () => await Apply(tar, WhiteoutStyle.Remove), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("refused"));
        Assert.That(SnapshotTree.Differences(before, SnapshotTree.Describe(_outside)), Is.Empty);
    }

    [Test]
    public async Task Apply_HardlinkToSymlinkToOutside_LinksTheSymlinkAndChangesNothingOutside()
    {
        var before = SnapshotTree.Describe(_outside);
        var tar = new TarBuilder(TarEntryFormat.Pax).Symlink("s", Path.Combine(_outside, "secret")).HardLink("h", "s").ToArray();

        await Apply(tar, WhiteoutStyle.Remove);

        Assert.That(PosixFs.ReadLink(Path.Combine(_root, "h")), Is.EqualTo(Path.Combine(_outside, "secret")));
        Assert.That(SnapshotTree.Differences(before, SnapshotTree.Describe(_outside)), Is.Empty);
    }

    [TestCase(".wh..")]
    [TestCase(".wh.")]
    public void Apply_WhiteoutNamingItsParent_Refused(string name)
    {
        var tar = new TarBuilder(TarEntryFormat.Pax).Directory("d").File("d/" + name, "").ToArray();

        Assert.That(async () => await Apply(tar, WhiteoutStyle.Remove), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("invalid whiteout"));
    }

    [Test]
    public async Task Apply_WhiteoutsOnPlainDirectory_DeleteAndEmpty()
    {
        await Apply(new TarBuilder(TarEntryFormat.Pax).Directory("a").File("a/gone", "1").File("a/kept", "2").Directory("o").File("o/old", "3").Directory("o/sub").ToArray(), WhiteoutStyle.Remove);

        await Apply(new TarBuilder(TarEntryFormat.Pax).Directory("a").Whiteout("a/gone").Directory("o").Opaque("o").File("o/new", "4").ToArray(), WhiteoutStyle.Remove);

        Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(_root, "a")).Select(Path.GetFileName), Is.EquivalentTo(new[] { "kept" }));
        Assert.That(Directory.EnumerateFileSystemEntries(Path.Combine(_root, "o")).Select(Path.GetFileName), Is.EquivalentTo(new[] { "new" }));
    }

    [Test]
    public async Task Apply_WhiteoutsOnOverlayUpper_BecomeDeviceAndOpaqueXattr()
    {
        await Apply(new TarBuilder(TarEntryFormat.Pax).Directory("a").Whiteout("a/gone").Directory("o").Opaque("o").ToArray(), WhiteoutStyle.Overlay);

        var tree = SnapshotTree.Describe(_root, SnapshotTree.WrittenMtimes);
        Assert.That(tree["a/gone"], Does.StartWith("char mode=0 owner=0:0").And.Contain("rdev=0"));
        Assert.That(tree["o"], Does.Contain("xattr:trusted.overlay.opaque=79"));
        Assert.That(tree.Keys, Has.None.Contains(".wh."));
    }

    [Test]
    public void Apply_OverlayHardlinkToLowerLayerFile_Refused()
    {
        var lower = _dir.Combine("lower");
        Directory.CreateDirectory(lower);
        File.WriteAllText(Path.Combine(lower, "f"), "lower");
        var tar = new TarBuilder(TarEntryFormat.Pax).HardLink("h", "f").ToArray();

        var apply = () => new LayerApplier(new LayerTarget(_root, WhiteoutStyle.Overlay, [lower])).ApplyAsync(new MemoryStream(tar), CancellationToken.None);

        Assert.That(async () => await apply(), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("refused"));
        Assert.That(File.ReadAllText(Path.Combine(lower, "f")), Is.EqualTo("lower"));
    }

    [Test]
    public void Apply_OverlayWhiteoutOfPathWrittenInSameLayer_RefusedAsContainerdDoes()
    {
        var tar = new TarBuilder(TarEntryFormat.Pax).Directory("d").Whiteout("d").ToArray();

        Assert.That(async () => await Apply(tar, WhiteoutStyle.Overlay), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("mknod"));
    }

    [Test]
    public async Task Apply_DirectoryMtime_SetAfterItsContents()
    {
        await Apply(new TarBuilder(TarEntryFormat.Pax).Directory("d", mtime: 1000.5m).File("d/f", "x").Directory("d/e", mtime: 2000m).File("d/e/g", "y").ToArray(), WhiteoutStyle.Remove);

        var tree = SnapshotTree.Describe(_root);
        Assert.That(tree["d"], Does.Contain("mtime=1000.500000000"));
        Assert.That(tree["d/e"], Does.Contain("mtime=2000.000000000"));
    }

    [Test]
    public void Apply_TrustedXattrFromArchive_Skipped()
    {
        var tar = new TarBuilder(TarEntryFormat.Pax).File("f", "x", xattrs: new Dictionary<string, string> { ["trusted.overlay.opaque"] = "y" }).ToArray();

        Assert.That(async () => await Apply(tar, WhiteoutStyle.Remove), Throws.Nothing);
        Assert.That(PosixFs.ListXattrs(Path.Combine(_root, "f")), Has.None.StartsWith("trusted."));
    }

    [Test]
    public async Task Apply_GnuTarBinaryXattrs_CarriedByteExact()
    {
        var tar = await GnuTarLayers.CapabilityAsync(_dir.Path).Bounded(60);

        await Apply(tar, WhiteoutStyle.Overlay);

        var file = Path.Combine(_root, "caps", "ping");
        Assert.That(PosixFs.GetXattr(file, "security.capability"), Is.EqualTo(GnuTarLayers.Capability));
        Assert.That(PosixFs.GetXattr(file, "user.binary"), Is.EqualTo(GnuTarLayers.BinaryUserValue));
    }

    [Test]
    public async Task Apply_PaxXattrValueWithNulAndInvalidUtf8_CarriedByteExact()
    {
        byte[] value = [0x00, 0xFF, 0xC0, 0x0A, 0x3D, 0x00];
        var tar = new RawTar().Pax(("SCHILY.xattr.user.raw", value), ("SCHILY.xattr.user.empty", [])).File("f", "x"u8.ToArray()).ToArray();

        await Apply(tar, WhiteoutStyle.Remove);

        Assert.That(PosixFs.GetXattr(Path.Combine(_root, "f"), "user.raw"), Is.EqualTo(value));
        Assert.That(PosixFs.GetXattr(Path.Combine(_root, "f"), "user.empty"), Is.Empty);
    }

    [TestCaseSource(typeof(GnuTarLayers), nameof(GnuTarLayers.SparseFormats))]
    public async Task Apply_GnuTarSparseFile_SameBytesAndHolesStayHoles(string format)
    {
        var tar = await GnuTarLayers.SparseAsync(_dir.Path, format).Bounded(60);
        Assert.That(tar.Length, Is.LessThan(4 << 20), "GNU tar wrote the files sparse");

        await Apply(tar, WhiteoutStyle.Overlay);

        foreach (var (name, length, data) in GnuTarLayers.SparseFiles)
        {
            var path = Path.Combine(_root, "sparse-" + format, name);
            var expected = new byte[length];
            foreach (var (offset, count) in data)
            {
                GnuTarLayers.Pattern(offset, count).CopyTo(expected, offset);
            }

            Assert.That(File.ReadAllBytes(path).AsSpan().SequenceEqual(expected), $"{name}: content");
            var status = Imageimportd.Scan.NativeFile.Stat(path, follow: false, out _)!.Value;
            Assert.That(status.AllocatedBytes, Is.LessThan((data.Sum(d => (long)d.Length) * 2) + (1 << 20)), $"{name}: holes written as holes");
            Assert.That(Describe(path), Does.Contain("mtime=1650000000.000000000"));
        }

        static string Describe(string path) => SnapshotTree.Describe(Path.GetDirectoryName(path)!)[Path.GetFileName(path)];
    }

    [Test]
    public async Task Apply_OldGnuSparseEntry_RefusedAsContainerdRefusesIt()
    {
        var tar = await GnuTarLayers.SparseAsync(_dir.Path, GnuTarLayers.OldGnuSparse).Bounded(60);

        Assert.That(async () => await Apply(tar, WhiteoutStyle.Overlay), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("old GNU sparse entry (type 'S')"));
    }

    [TestCase("0,10,5,10", 2, TestName = "Apply_SparseRegionsOverlapping_Refused")]
    [TestCase("0,10,100,10", 2, TestName = "Apply_SparseRegionBeyondRealSize_Refused")]
    [TestCase("0,5", 1, TestName = "Apply_SparseRegionsNotMatchingStoredData_Refused")]
    [TestCase("0,10", 2, TestName = "Apply_SparseMapNotMatchingNumblocks_Refused")]
    public void Apply_HostileSparseMap_Refused(string map, int numblocks)
    {
        var tar = new RawTar()
            .Pax(("GNU.sparse.major", "0"), ("GNU.sparse.minor", "1"), ("GNU.sparse.numblocks", numblocks.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("GNU.sparse.map", map), ("GNU.sparse.name", "s"), ("GNU.sparse.realsize", "50"))
            .File("GNUSparseFile.0/s", new byte[20])
            .ToArray();

        Assert.That(async () => await Apply(tar, WhiteoutStyle.Remove), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("sparse"));
        Assert.That(File.Exists(Path.Combine(_root, "s")), Is.False);
    }

    [Test]
    public void Apply_PaxSparseFile_WritesAtOffsets()
    {
        var tar = new RawTar()
            .Pax(("GNU.sparse.major", "0"), ("GNU.sparse.minor", "1"), ("GNU.sparse.numblocks", "2"), ("GNU.sparse.map", "3,2,10,3"), ("GNU.sparse.name", "s"), ("GNU.sparse.realsize", "20"))
            .File("GNUSparseFile.0/s", "abcde"u8.ToArray())
            .ToArray();

        Assert.That(async () => await Apply(tar, WhiteoutStyle.Remove), Throws.Nothing);
        Assert.That(File.ReadAllBytes(Path.Combine(_root, "s")), Is.EqualTo("\0\0\0ab\0\0\0\0\0cde\0\0\0\0\0\0\0"u8.ToArray()));
    }

    [Test]
    public async Task Apply_GnuLongNameAndLink_UsedForTheNextEntry()
    {
        var longName = string.Join('/', Enumerable.Repeat("directory-name", 12)) + "/file";
        var longLink = string.Join('/', Enumerable.Repeat("another-name", 12));
        var tar = new RawTar()
            .Entry("././@LongLink", (byte)'L', System.Text.Encoding.UTF8.GetBytes(longName + "\0"))
            .File("truncated-name", "long"u8.ToArray())
            .Entry("././@LongLink", (byte)'K', System.Text.Encoding.UTF8.GetBytes(longLink))
            .Entry("link", (byte)'2', [])
            .ToArray();

        await Apply(tar, WhiteoutStyle.Remove);

        Assert.That(File.ReadAllText(Path.Combine(_root, longName)), Is.EqualTo("long"));
        Assert.That(PosixFs.ReadLink(Path.Combine(_root, "link")), Is.EqualTo(longLink));
        Assert.That(File.Exists(Path.Combine(_root, "truncated-name")), Is.False);
    }

    [Test]
    public void Apply_CorruptHeaderChecksum_RefusedAsCorrupt()
    {
        var tar = new RawTar().File("f", "x"u8.ToArray()).ToArray();
        tar[0] ^= 1;

        Assert.That(async () => await Apply(tar, WhiteoutStyle.Remove), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("checksum"));
    }

    private Task Apply(byte[] tar, WhiteoutStyle style) =>
        new LayerApplier(new LayerTarget(_root, style, [])).ApplyAsync(new MemoryStream(tar), CancellationToken.None);
}
