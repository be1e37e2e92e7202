using System.Diagnostics;
using System.Formats.Tar;
using System.Text;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Hostile;

/// <summary>
/// Every bad file gets one clear error naming it; nothing of it becomes an image; no lease or partial ingest is left;
/// the good file beside it is imported. All against the real containerd, through the real binary.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class BadInputTests
{
    private TempDirectory _dir = null!;
    private ToolArchive _docker = null!;
    private ToolArchive _oci = null!;

    [OneTimeSetUp]
    public async Task SetUp()
    {
        _dir = new TempDirectory("hostile-");
        _docker = await ToolArchives.DockerArchiveAsync(_dir.Combine("d"), ["docker.io/library/hostile:1.0"], CancellationToken.None).Bounded();
        _oci = await ToolArchives.OciLayoutTarAsync(_dir.Combine("o"), ["docker.io/library/hostile-oci:1.0"], CancellationToken.None).Bounded();
    }

    [OneTimeTearDown]
    public void TearDown() => _dir.Dispose();

    private static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData("empty", "empty archive|not a tar").SetName("Import_EmptyFile_FailsCleanly");
        yield return new TestCaseData("random", "not a tar").SetName("Import_RandomBytes_FailsCleanly");
        yield return new TestCaseData("truncated", "truncated|corrupt tar").SetName("Import_TruncatedTar_FailsCleanly");
        yield return new TestCaseData("truncated-gz", "gzip").SetName("Import_TruncatedGzip_FailsCleanly");
        yield return new TestCaseData("garbage-zst", "zstd").SetName("Import_ZstdWithGarbageInside_FailsCleanly");
        yield return new TestCaseData("not-image", "unrecognized image format").SetName("Import_ValidTarNotAnImage_FailsCleanly");
        yield return new TestCaseData("bad-blob", "does not match").SetName("Import_BlobNotMatchingItsDigest_FailsCleanly");
        yield return new TestCaseData("missing-layer", "not found").SetName("Import_ManifestNamingMissingLayer_FailsCleanly");
        yield return new TestCaseData("big-manifest", "20 MiB limit").SetName("Import_ManifestJsonOver20MiB_Refused");
        yield return new TestCaseData("bomb", "decompression bomb").SetName("Import_DecompressionBomb_Refused");
        yield return new TestCaseData("huge-longname", "GNU long name of 419430400 bytes is over the 1024 KiB limit").SetName("Import_GnuLongName400MB_RefusedFromItsHeader");
        yield return new TestCaseData("huge-pax", "PAX extended header of 314572800 bytes is over the 1024 KiB limit").SetName("Import_PaxHeader300MB_RefusedFromItsHeader");
        yield return new TestCaseData("sparse", "sparse file").SetName("Import_SparsePlainArchive_Refused");
        yield return new TestCaseData("cut-header", "truncated").SetName("Import_FileEndsInsideATarHeader_SaysTruncated");
    }

    [TestCaseSource(nameof(Cases))]
    public async Task Import_BadFile_OneClearErrorNothingLeft(string kind, string expectedCause)
    {
        var bad = await MakeAsync(kind);
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("bad-" + kind);

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--parallel", "1", bad, _docker.Path).Bounded(300);

        Assert.That(result.ExitCode, Is.EqualTo(1), result.Output);
        var failures = result.Stderr.Split('\n').Where(l => l.Contains("failed " + bad, StringComparison.Ordinal)).ToList();
        Assert.That(failures, Has.Count.EqualTo(1), result.Stderr);
        Assert.That(failures[0], Does.Match("(?i)" + expectedCause));
        var cause = failures[0][(failures[0].IndexOf(bad, StringComparison.Ordinal) + bad.Length)..];
        Assert.That(cause, Does.Not.Match(@"\b[A-Za-z]+_[A-Za-z_]+\b|\bTar[A-Z][a-z]+[A-Z]"), "a .NET resource key instead of words");
        Assert.That(result.Stderr, Does.Contain("imported " + _docker.Path), "the good file beside it must still import:\n" + result.Stderr);
        var ctr = containerd.CtrFor(ns);
        Assert.That((await ctr.ListImagesAsync().Bounded()).Select(i => i.Name), Is.EquivalentTo(new[]
        {
            "docker.io/library/hostile:1.0",
            "docker.io/library/hostile@" + (await ctr.ListImagesAsync().Bounded()).First(i => i.Name.EndsWith(":1.0", StringComparison.Ordinal)).Digest,
        }));
        Assert.That(await ctr.LeasesAsync().Bounded(), Is.Empty);
        var active = await ctr.RunAsync(["content", "active"]).Bounded();
        Assert.That(active.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1), Is.Empty, "a partial ingest was left: " + active);
    }

    [Test]
    public async Task Import_IndexEntryOfUnknownMediaType_TypeNamedInTheWarning()
    {
        const string unknown = "application/vnd.example.thing.v1+json";
        var entries = ArchiveSurgery.Read(_oci.Path);
        var index = entries.Single(e => e.Name.TrimStart('.', '/') == "index.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(index.Data)!;
        json["manifests"]![0]!["mediaType"] = unknown;
        var path = _dir.Combine("unknown-type.tar");
        ArchiveSurgery.Write(path, entries.Select(e => e == index ? e with { Data = Encoding.UTF8.GetBytes(json.ToJsonString()) } : e));
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("unknown-type");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--parallel", "1", path, _docker.Path).Bounded(200);

        Assert.That(result.Stderr, Does.Contain("unknown media type " + unknown), result.Output);
        Assert.That(result.Stderr, Does.Not.Contain("no manifest for"), result.Output);
        Assert.That(result.Stderr, Does.Contain("imported " + _docker.Path), result.Output);
    }

    [Test]
    public async Task Import_DuplicateAndReorderedEntries_ImportsLikeTheOriginal()
    {
        var entries = ArchiveSurgery.Read(_docker.Path);
        var manifest = entries.Single(e => e.Name == "manifest.json");
        var reordered = new List<ArchiveSurgery.Entry> { manifest };
        reordered.AddRange(entries.Where(e => e != manifest).Reverse());
        reordered.Add(entries.First(e => e.Type == TarEntryType.RegularFile && e.Name.EndsWith(".tar", StringComparison.Ordinal)));
        var path = _dir.Combine("reordered.tar");
        ArchiveSurgery.Write(path, reordered);
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("reorder");
        var reference = SharedContainerd.NewNamespace("reorder-ref");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", path).Bounded(200);
        var original = await ImageimportdCli.RunAsync(containerd, reference, "import-once", _docker.Path).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(original.ExitCode, Is.EqualTo(0), original.Output);
        var got = (await containerd.CtrFor(ns).ListImagesAsync().Bounded()).ToDictionary(i => i.Name, i => i.Digest);
        var want = (await containerd.CtrFor(reference).ListImagesAsync().Bounded()).ToDictionary(i => i.Name, i => i.Digest);
        Assert.That(got, Is.EquivalentTo(want));
    }

    [Test]
    public async Task Import_EntriesEscapingTheArchive_AreOnlyNames()
    {
        var entries = ArchiveSurgery.Read(_docker.Path);
        entries.Insert(0, new ArchiveSurgery.Entry("../../../../tmp/imageimportd-escape", TarEntryType.RegularFile, Encoding.UTF8.GetBytes("x"), null));
        entries.Insert(0, new ArchiveSurgery.Entry("/etc/imageimportd-absolute", TarEntryType.RegularFile, Encoding.UTF8.GetBytes("x"), null));
        entries.Add(new ArchiveSurgery.Entry("evil-link", TarEntryType.SymbolicLink, [], "../../../etc/passwd"));
        entries.Add(new ArchiveSurgery.Entry("evil-hard", TarEntryType.HardLink, [], "/etc/shadow"));
        var path = _dir.Combine("escape.tar");
        ArchiveSurgery.Write(path, entries);
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("escape");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", path).Bounded(200);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(File.Exists("/tmp/imageimportd-escape"), Is.False);
        Assert.That(File.Exists("/etc/imageimportd-absolute"), Is.False);
    }

    [Test]
    public async Task ImportOnce_SpecialFilesInDirectory_SkippedWithoutBlocking()
    {
        var images = Directory.CreateDirectory(_dir.Combine("special")).FullName;
        File.Copy(_docker.Path, Path.Combine(images, "good.tar"));
        using (var mkfifo = Process.Start("mkfifo", [Path.Combine(images, "fifo.tar")]))
        {
            await mkfifo.WaitForExitAsync();
        }

        File.CreateSymbolicLink(Path.Combine(images, "loop-a.tar"), Path.Combine(images, "loop-b.tar"));
        File.CreateSymbolicLink(Path.Combine(images, "loop-b.tar"), Path.Combine(images, "loop-a.tar"));
        File.CreateSymbolicLink(Path.Combine(images, "dangling.tar"), Path.Combine(images, "nothing-here.tar"));
        File.CreateSymbolicLink(Path.Combine(images, "null.tar"), "/dev/null");
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace("special");

        var result = await ImageimportdCli.RunAsync(containerd, ns, "import-once", "--images", images).Bounded(60);
        var fifoArg = await ImageimportdCli.RunAsync(containerd, ns, "import-once", Path.Combine(images, "fifo.tar")).Bounded(60);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Output);
        Assert.That(result.Stderr, Does.Contain("imported " + Path.Combine(images, "good.tar")));
        Assert.That(fifoArg.ExitCode, Is.EqualTo(1), fifoArg.Output);
        Assert.That(fifoArg.Stderr, Does.Contain("not a regular file"));
    }

    private async Task<string> MakeAsync(string kind)
    {
        var path = _dir.Combine($"{kind}.tar");
        switch (kind)
        {
            case "empty":
                await File.WriteAllBytesAsync(path, []);
                break;
            case "random":
                await File.WriteAllBytesAsync(path, new Random(7).GetItems<byte>(Enumerable.Range(0, 256).Select(i => (byte)i).ToArray(), 100_000));
                break;
            case "truncated":
                ArchiveSurgery.Truncate(_docker.Path, path, 0.6);
                break;
            case "truncated-gz":
                var full = _dir.Combine("full.tar.gz");
                ArchiveSurgery.Gzip(_docker.Path, full);
                path = _dir.Combine("truncated.tar.gz");
                ArchiveSurgery.Truncate(full, path, 0.5);
                break;
            case "garbage-zst":
                path = _dir.Combine("garbage.tar.zst");
                await Tools.RunAsync("zstd", ["-q", "-f", "-o", path, _docker.Path], CancellationToken.None);
                var z = await File.ReadAllBytesAsync(path);
                for (var i = z.Length / 3; i < z.Length / 3 + 64 && i < z.Length; i++)
                {
                    z[i] ^= 0x5a;
                }

                await File.WriteAllBytesAsync(path, z);
                break;
            case "not-image":
                ArchiveSurgery.Write(path, [new ArchiveSurgery.Entry("etc/hostname", TarEntryType.RegularFile, Encoding.UTF8.GetBytes("node\n"), null)]);
                break;
            case "bad-blob":
                {
                    var entries = ArchiveSurgery.Read(_oci.Path);
                    var victim = entries.First(e => e.Name.Contains("blobs/sha256/", StringComparison.Ordinal) && e.Data.Length > 0);
                    var altered = (byte[])victim.Data.Clone();
                    altered[altered.Length / 2] ^= 0xff;
                    ArchiveSurgery.Write(path, entries.Select(e => e == victim ? e with { Data = altered } : e));
                    break;
                }

            case "missing-layer":
                {
                    var entries = ArchiveSurgery.Read(_docker.Path);
                    var firstLayer = entries.First(e => e.Type == TarEntryType.RegularFile && e.Name.EndsWith(".tar", StringComparison.Ordinal));
                    ArchiveSurgery.Write(path, entries.Where(e => e.Name != firstLayer.Name && e.Link is null));
                    break;
                }

            case "big-manifest":
                {
                    var entries = ArchiveSurgery.Read(_docker.Path);
                    var padded = new byte[21 << 20];
                    Array.Fill(padded, (byte)' ');
                    padded[0] = (byte)'[';
                    padded[^1] = (byte)']';
                    ArchiveSurgery.Write(path, entries.Select(e => e.Name == "manifest.json" ? e with { Data = padded } : e));
                    break;
                }

            case "huge-longname":
                // Only the header and a little padding: the declared size alone must be refused.
                await File.WriteAllBytesAsync(path, [.. TarBuilder.RawHeader("././@LongLink", 'L', 400L << 20), .. new byte[8192]]);
                break;
            case "huge-pax":
                await File.WriteAllBytesAsync(path, [.. TarBuilder.RawHeader("PaxHeaders/x", 'x', 300L << 20), .. new byte[8192]]);
                break;
            case "sparse":
                File.Copy(_docker.Path, path, overwrite: true);
                await using (var sparse = new FileStream(path, FileMode.Open, FileAccess.Write))
                {
                    sparse.SetLength(1L << 30); // A hole: 1 GiB long, a few KiB on disk.
                }

                break;
            case "cut-header":
                await File.WriteAllBytesAsync(path, (await File.ReadAllBytesAsync(_docker.Path))[..300]);
                break;
            case "bomb":
                {
                    path = _dir.Combine("bomb.tar.zst");
                    var tarHeaderAndZeros = _dir.Combine("bomb-src.sh");
                    // 3 GiB of zeros in one tar entry, zstd-compressed: a few hundred KiB on disk.
                    await File.WriteAllTextAsync(tarHeaderAndZeros, $"set -e; d=$(mktemp -d); truncate -s 3G \"$d/zeros\"; tar -C \"$d\" -cf - zeros | zstd -q -1 -o '{path}'; rm -rf \"$d\"");
                    await Tools.RunAsync("bash", [tarHeaderAndZeros], TimeSpan.FromSeconds(120), CancellationToken.None);
                    break;
                }
        }

        return path;
    }
}
