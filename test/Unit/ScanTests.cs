using System.Diagnostics;
using Imageimportd.Scan;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

[TestFixture]
public sealed class ScanTests
{
    private static void MakeFifo(string path)
    {
        using var process = Process.Start(new ProcessStartInfo("mkfifo", [path]) { UseShellExecute = false, RedirectStandardError = true })
            ?? throw new InvalidOperationException("could not start mkfifo");
        if (!process.WaitForExit(TimeSpan.FromSeconds(10)) || process.ExitCode != 0)
        {
            Assert.Fail($"mkfifo {path} failed: {process.StandardError.ReadToEnd()}");
        }
    }

    /// <summary>Runs the synchronous scan on the pool so that a scan blocking on a FIFO fails by timeout instead of hanging.</summary>
    private static Task<IReadOnlyList<string>> ListAsync(string directory) =>
        Task.Run(() => DirectoryScan.List(directory, ArchiveNames.IsArchive)).WithTimeout();

    [TestCase("alpine.tar", true)]
    [TestCase("ALPINE.TAR", true)]
    [TestCase("a.Tar.Gz", true)]
    [TestCase("a.tgz", true)]
    [TestCase("a.tar.zst", true)]
    [TestCase("a.tar.zstd", true)]
    [TestCase("a.tzst", true)]
    [TestCase("a.tar.bz2", true)]
    [TestCase("a.tbz", true)]
    [TestCase("a.tbz2", true)]
    [TestCase("a.tar.lz4", true)]
    [TestCase("a.tar.xz", true)]
    [TestCase("a.TXZ", true)]
    [TestCase(".alpine.tar", false)]
    [TestCase(".tar", false)]
    [TestCase("alpine.tar.part", false)]
    [TestCase("alpine.tar.tmp", false)]
    [TestCase("alpine.gz", false)]
    [TestCase("alpine.zip", false)]
    [TestCase("images.txt", false)]
    [TestCase("tar", false)]
    public void IsArchive_FileName_SuffixCaseInsensitiveDotFilesHidden(string name, bool expected)
    {
        Assert.That(ArchiveNames.IsArchive(name), Is.EqualTo(expected));
    }

    [TestCase("pull.txt", true)]
    [TestCase("PULL.TXT", true)]
    [TestCase(".pull.txt", false)]
    [TestCase("pull.txt.swp", false)]
    [TestCase("pull.tar", false)]
    public void IsPullList_FileName_TxtNotHidden(string name, bool expected)
    {
        Assert.That(ArchiveNames.IsPullList(name), Is.EqualTo(expected));
    }

    [Test]
    public async Task List_NestedCandidates_RecursiveInOrdinalOrderOfRelativePaths()
    {
        // Arrange
        using var temp = new TempDirectory();
        foreach (var name in new[] { "b.tar", "a/z.tar", "a.tar", "A.tar", "00-pause.tar", "dir.tar/inner.tgz", "a/b/c/deep.tar.zst", "notes.md", "a/readme.txt" })
        {
            temp.Write(name, [1]);
        }

        // Act
        var found = await ListAsync(temp.Path);

        // Assert: '.' (0x2E) sorts before '/' (0x2F), uppercase before lowercase.
        Assert.That(found.Select(f => Path.GetRelativePath(temp.Path, f)), Is.EqualTo(new[]
        {
            "00-pause.tar", "A.tar", "a.tar", "a/b/c/deep.tar.zst", "a/z.tar", "b.tar", "dir.tar/inner.tgz",
        }));
    }

    [Test]
    public async Task List_HiddenFilesAndDirectories_Skipped()
    {
        // Arrange
        using var temp = new TempDirectory();
        temp.Write(".partial.tar", [1]);
        temp.Write(".cache/cached.tar", [1]);
        temp.Write("visible.tar", [1]);

        // Act
        var found = await ListAsync(temp.Path);

        // Assert
        Assert.That(found.Select(Path.GetFileName), Is.EqualTo(new[] { "visible.tar" }));
    }

    [Test]
    public async Task List_FifoDanglingLinkAndLinkLoop_SkippedWithoutOpening()
    {
        // Arrange
        using var temp = new TempDirectory();
        var real = temp.Write("real.tar", [1]);
        MakeFifo(Path.Combine(temp.Path, "pipe.tar"));
        File.CreateSymbolicLink(Path.Combine(temp.Path, "dangling.tar"), Path.Combine(temp.Path, "missing.tar"));
        File.CreateSymbolicLink(Path.Combine(temp.Path, "loop1.tar"), Path.Combine(temp.Path, "loop2.tar"));
        File.CreateSymbolicLink(Path.Combine(temp.Path, "loop2.tar"), Path.Combine(temp.Path, "loop1.tar"));
        File.CreateSymbolicLink(Path.Combine(temp.Path, "link.tar"), real);
        File.CreateSymbolicLink(Path.Combine(temp.Path, "fifo-link.tar"), Path.Combine(temp.Path, "pipe.tar"));

        // Act
        var found = await ListAsync(temp.Path);

        // Assert
        Assert.That(found.Select(Path.GetFileName), Is.EqualTo(new[] { "link.tar", "real.tar" }));
    }

    [Test]
    public async Task List_MissingDirectory_Empty()
    {
        // Arrange
        using var temp = new TempDirectory();

        // Act
        var found = await ListAsync(Path.Combine(temp.Path, "nope"));

        // Assert
        Assert.That(found, Is.Empty);
    }

    [Test]
    public void IsRegular_FileTypes_OnlyRegularFilesAndLinksToThem()
    {
        // Arrange
        using var temp = new TempDirectory();
        var file = temp.Write("file", [1]);
        var fifo = Path.Combine(temp.Path, "fifo");
        MakeFifo(fifo);
        var link = Path.Combine(temp.Path, "link");
        File.CreateSymbolicLink(link, file);
        var dirLink = Path.Combine(temp.Path, "dirlink");
        Directory.CreateSymbolicLink(dirLink, temp.Path);

        // Act
        var results = new Dictionary<string, bool>
        {
            ["file"] = RegularFiles.IsRegular(file),
            ["link"] = RegularFiles.IsRegular(link),
            ["fifo"] = RegularFiles.IsRegular(fifo),
            ["directory"] = RegularFiles.IsRegular(temp.Path),
            ["dirlink"] = RegularFiles.IsRegular(dirLink),
            ["device"] = RegularFiles.IsRegular("/dev/null"),
            ["missing"] = RegularFiles.IsRegular(Path.Combine(temp.Path, "missing")),
        };

        // Assert
        Assert.That(results, Is.EquivalentTo(new Dictionary<string, bool>
        {
            ["file"] = true,
            ["link"] = true,
            ["fifo"] = false,
            ["directory"] = false,
            ["dirlink"] = false,
            ["device"] = false,
            ["missing"] = false,
        }));
    }
}
