using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using Imageimportd.Archive;
using Imageimportd.Compression;
using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Import;
using Imageimportd.Logging;
using Imageimportd.Pull;
using Imageimportd.Scan;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Hostile;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>The bounds on what the images directory and an archive's headers can make the daemon do.</summary>
[TestFixture]
public sealed class FileSafetyTests
{
    private static async Task<ArchiveContents> ReadAsync(byte[] tar)
    {
        await using var ingest = new ContentWriteStage(new InMemoryContentStore(), "test-import", ContentWriteOptions.Default, ArchiveLimits.Default);
        using var stream = new MemoryStream(tar, writable: false);
        return await new ArchiveReader(ArchiveLimits.Default).ReadAsync(stream, ingest, CancellationToken.None).WithTimeout();
    }

    [TestCase('L', "GNU long name")]
    [TestCase('K', "GNU long link name")]
    [TestCase('x', "PAX extended header")]
    [TestCase('g', "PAX global header")]
    public async Task ReadAsync_HugeMetadataHeader_RefusedBeforeItIsRead(char type, string what)
    {
        // Only the header: a 400 MB declared size must be refused from the header alone, never allocated.
        var tar = TarBuilder.RawHeader("././@LongLink", type, 400L << 20).Concat(new byte[4096]).ToArray();

        var ex = await AsyncAssert.ThrowsAsync<InvalidDataException>(() => ReadAsync(tar));

        Assert.That(ex.Message, Does.Contain(what).And.Contain("over the 1024 KiB limit"));
    }

    [Test]
    public async Task ReadAsync_LongNamesAndPaxSizesUnderTheCap_ReadAsBefore()
    {
        var image = ImageBuilder.Image(ImageBuilder.Layer("base"));
        var archive = ImageBuilder.DockerArchive(image, "alpine:3.19");
        var entries = ArchiveSurgery.Read(archive);

        // A 300-character unused entry name takes a GNU long-name header; the real entries follow it.
        entries.Insert(0, new ArchiveSurgery.Entry(new string('n', 300), TarEntryType.RegularFile, [1, 2, 3], null));
        var rewritten = ArchiveSurgery.Build(entries, TarEntryFormat.Gnu);

        var contents = await ReadAsync(rewritten);

        Assert.That(contents.DockerManifests, Has.Count.EqualTo(1));
    }

    [Test]
    public void SparseFiles_PlainArchiveMostlyHoles_Refused()
    {
        var holes = new FileStat(0x81A4, 1, 1, 1L << 30, Blocks: 2048, 0);
        var dense = holes with { Blocks = (1L << 30) / 512 };

        Assert.That(() => SparseFiles.ThrowIfSparse(holes, CompressionKind.None), Throws.InstanceOf<InvalidDataException>().With.Message.Contains("sparse file"));
        Assert.That(() => SparseFiles.ThrowIfSparse(holes, CompressionKind.Zstd), Throws.Nothing);
        Assert.That(() => SparseFiles.ThrowIfSparse(dense, CompressionKind.None), Throws.Nothing);
    }

    [Test]
    public void NativePath_BytesThatAreNotUtf8_RoundTrip()
    {
        byte[] raw = [.. "/images/caf"u8, 0xE9, .. ".tar"u8];

        var name = NativePath.Decode(raw);

        Assert.That(NativePath.HasRawBytes(name), Is.True);
        Assert.That(NativePath.Encode(name), Is.EqualTo(raw.Append((byte)0).ToArray()));
        Assert.That(NativePath.HasRawBytes(NativePath.Decode("/images/café.tar"u8)), Is.False);
        Assert.That(LogText.Escape(name), Is.EqualTo("/images/caf\\xe9.tar"));
    }

    [TestCase("plain.tar", "plain.tar")]
    [TestCase("a\nINFO forged", "a\\nINFO forged")]
    [TestCase("cr\rtab\tesc\u001b[31m", "cr\\rtab\\tesc\\x1b[31m")]
    [TestCase("back\\slash", "back\\\\slash")]
    [TestCase("line\u2028sep", "line\\u2028sep")]
    [TestCase("emoji 🐳 ok", "emoji 🐳 ok")]
    public void LogText_ControlCharacters_Escaped(string text, string expected)
    {
        Assert.That(LogText.Escape(text), Is.EqualTo(expected));
    }

    [TestCase("UnauthorizedAccess_IODenied_Path, /images/x.tar", true)]
    [TestCase("Arg_OutOfMemoryException", true)]
    [TestCase("IO_EOF_ReadBeyondEOF", true)]
    [TestCase("TarInvalidNumber", true)]
    [TestCase("Status(StatusCode=\"Cancelled\", Detail=\"Call canceled by the client.\")", true)]
    [TestCase("truncated archive: manifest.json ends after 3 of 10 bytes", false)]
    [TestCase("gzip", false)]
    public void PlainText_ResourceKeys_Recognised(string message, bool isKey)
    {
        Assert.That(PlainText.IsResourceKey(message), Is.EqualTo(isKey));
    }

    [Test]
    public void FailureCause_FrameworkExceptions_PlainWords()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(FailureDescription.Of(new UnauthorizedAccessException("UnauthorizedAccess_IODenied_Path, /x")).Cause, Is.EqualTo("unreadable: permission denied"));
            Assert.That(FailureDescription.Of(new EndOfStreamException("IO_EOF_ReadBeyondEOF")).Cause, Does.StartWith("truncated"));
            Assert.That(FailureDescription.Of(new OutOfMemoryException("Arg_OutOfMemoryException")).Cause, Is.EqualTo("out of memory"));
            Assert.That(FailureDescription.Of(new InvalidDataException("TarInvalidNumber")).Cause, Is.EqualTo("bad archive: corrupt data"));
            Assert.That(FailureDescription.Of(new InvalidDataException("the file is UTF-16 text"), pullList: true).Cause, Is.EqualTo("bad pull list: the file is UTF-16 text"));
        }
    }

    [Test]
    public async Task SafeFile_FifoAndProcFiles_RefusedWithoutBlocking()
    {
        using var temp = new TempDirectory();
        var fifo = temp.Combine("fifo.tar");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync().WithTimeout();
        }

        var fifoError = await Task.Run(() => Assert.Throws<IOException>(() => SafeFile.OpenRead(fifo, 4096, out _))).WithTimeout();
        var kmsgError = await Task.Run(() => Assert.Throws<IOException>(() => SafeFile.OpenRead("/proc/kmsg", 4096, out _))).WithTimeout();

        Assert.That(fifoError!.Message, Is.EqualTo("not a regular file (a FIFO)"));
        Assert.That(kmsgError!.Message, Does.StartWith("not a regular file"));
        Assert.That(() => SafeFile.OpenRead(temp.Combine("missing.tar"), 4096, out _), Throws.InstanceOf<FileNotFoundException>());
    }

    [Test]
    public async Task DirectoryScan_SymlinkLoopsAndDepth_EachRealDirectoryOnceNotedOnce()
    {
        using var temp = new TempDirectory();
        var a = Directory.CreateDirectory(temp.Combine("a")).FullName;
        File.WriteAllBytes(Path.Combine(a, "x.tar"), [1]);
        Directory.CreateSymbolicLink(Path.Combine(a, "up"), "..");
        Directory.CreateSymbolicLink(Path.Combine(a, "self"), "../a");
        Directory.CreateSymbolicLink(temp.Combine("0-alias"), "a");
        var deep = Path.Combine([temp.Path, .. Enumerable.Range(0, DirectoryScan.MaxDepth + 2).Select(i => "d" + i)]);
        Directory.CreateDirectory(deep);
        File.WriteAllBytes(Path.Combine(deep, "deep.tar"), [1]);
        var notes = new List<string>();
        var scan = new DirectoryScan(notes.Add);

        var first = await Task.Run(() => scan.Find(temp.Path, ArchiveNames.IsArchive)).WithTimeout();
        var second = await Task.Run(() => scan.Find(temp.Path, ArchiveNames.IsArchive)).WithTimeout();

        Assert.That(first, Is.EqualTo(new[] { Path.Combine(a, "x.tar") }), "the real path wins over 0-alias, the loops add nothing, deep.tar is too deep");
        Assert.That(second, Is.EqualTo(first));
        Assert.That(notes.Count(n => n.Contains("a/up leads back", StringComparison.Ordinal)), Is.EqualTo(1), string.Join('\n', notes));
        Assert.That(notes.Count(n => n.Contains("a/self leads back", StringComparison.Ordinal)), Is.EqualTo(1), string.Join('\n', notes));
        Assert.That(notes.Count(n => n.Contains("levels below", StringComparison.Ordinal)), Is.EqualTo(1), string.Join('\n', notes));
        Assert.That(DirectoryScan.WithinLimits(temp.Path, Path.Combine(deep, "deep.tar")), Is.False);
        Assert.That(DirectoryScan.WithinLimits(temp.Path, Path.Combine(a, "x.tar")), Is.True);
    }

    [TestCase(new byte[] { 0xFF, 0xFE, (byte)'a', 0, (byte)'\n', 0 }, "UTF-16")]
    [TestCase(new byte[] { (byte)'a', 0, (byte)'b' }, "binary")]
    [TestCase(new byte[] { (byte)'a', 0xC3, (byte)'\n' }, "not UTF-8")]
    public async Task PullListReadAsync_NotUtf8Text_RefusedWhole(byte[] bytes, string reason)
    {
        using var temp = new TempDirectory();
        var path = temp.Write("list.txt", bytes);

        var parse = await PullList.ReadAsync(path, CancellationToken.None).WithTimeout();

        Assert.That(parse.Entries, Is.Empty);
        Assert.That(parse.Refused, Does.Contain(reason));
    }
}
