using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Imageimportd.Tests.Harness;

/// <summary>
/// Image archives written by real tools (umoci builds the images, skopeo and GNU tar package them),
/// for checking imageimportd's reader against what others produce. No network.
/// Builds are deterministic on one host: fixed timestamps everywhere, so the same host files give
/// the same digests; a host missing a source file gets fixed synthetic text instead.
/// </summary>
public static class ToolArchives
{
    /// <summary>3 layers: /etc files; /usr files with an executable and a symlink; a whiteout of /etc/protocols.</summary>
    public const string BaseTag = "base";

    /// <summary>2 layers under /opt/other: text plus 8 KiB binary; then a hard link, a 0600 file and an empty dir.</summary>
    public const string OtherTag = "other";

    private const string Created = "2020-01-01T00:00:00Z";
    private const string TouchTime = "@1577836800";

    private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> Layouts = new(StringComparer.Ordinal);
    private static int _counter;

    /// <summary>
    /// The umoci-built OCI layout (tags <see cref="BaseTag"/> and <see cref="OtherTag"/>) under
    /// <paramref name="dir"/>, built once per dir. Usable as a skopeo/umoci source: <c>oci:PATH:base</c>.
    /// </summary>
    public static Task<string> SourceLayoutAsync(string dir, CancellationToken cancellationToken)
    {
        var layout = Path.Combine(Path.GetFullPath(dir), "src-layout");
        // Shared build, so not the first caller's token; each caller can still stop waiting.
        return Layouts.GetOrAdd(layout, l => new Lazy<Task<string>>(() => BuildSourceLayoutAsync(l, CancellationToken.None)))
            .Value.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// <c>skopeo copy oci:SRC:base docker-archive:OUT:refs[0] --additional-tag refs[1..]</c>: one image, every ref
    /// in its RepoTags. Give full references (docker.io/library/x:1): skopeo writes RepoTags as given.
    /// </summary>
    public static async Task<ToolArchive> DockerArchiveAsync(string dir, IReadOnlyList<string> refs, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(refs.Count);
        var layout = await SourceLayoutAsync(dir, cancellationToken);
        var output = NewOutputPath(dir, "docker-archive", ".tar");
        await SkopeoToDockerArchiveAsync(layout, BaseTag, output, refs, cancellationToken);
        var digests = LayoutDigests(layout);
        return new ToolArchive(
            output,
            ArchiveFormat.DockerArchive,
            refs.ToList(),
            refs.Distinct(StringComparer.Ordinal).ToDictionary(r => r, _ => digests[BaseTag].Config, StringComparer.Ordinal),
            new Dictionary<string, string>(StringComparer.Ordinal));
    }

    /// <summary>
    /// A docker-archive holding two different images (base as <paramref name="baseRef"/>, other as
    /// <paramref name="otherRef"/>), like <c>docker save a b</c>. skopeo writes one image per archive, so this
    /// merges two skopeo archives: blobs side by side, manifest.json entries concatenated, repositories merged,
    /// manifest.json and repositories written last (as docker save does).
    /// </summary>
    public static async Task<ToolArchive> DockerArchiveTwoImagesAsync(string dir, string baseRef, string otherRef, CancellationToken cancellationToken)
    {
        var layout = await SourceLayoutAsync(dir, cancellationToken);
        var first = NewOutputPath(dir, "docker-part", ".tar");
        var second = NewOutputPath(dir, "docker-part", ".tar");
        await SkopeoToDockerArchiveAsync(layout, BaseTag, first, [baseRef], cancellationToken);
        await SkopeoToDockerArchiveAsync(layout, OtherTag, second, [otherRef], cancellationToken);

        var merge = NewOutputPath(dir, "docker-merge", string.Empty);
        Directory.CreateDirectory(merge);
        await Tools.RunAsync("tar", ["-xf", first, "-C", merge], cancellationToken);
        var manifest = (JsonArray)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(merge, "manifest.json"), cancellationToken))!;
        var repositories = (JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(merge, "repositories"), cancellationToken))!;
        File.Delete(Path.Combine(merge, "manifest.json"));
        File.Delete(Path.Combine(merge, "repositories"));

        // Shared layers extract to the same <diffid>.tar with the same bytes; --overwrite avoids failing on skopeo's r--r--r-- modes.
        await Tools.RunAsync("tar", ["--overwrite", "-xf", second, "-C", merge], cancellationToken);
        var manifest2 = (JsonArray)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(merge, "manifest.json"), cancellationToken))!;
        var repositories2 = (JsonObject)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(merge, "repositories"), cancellationToken))!;
        foreach (var entry in manifest2.ToList())
        {
            manifest2.Remove(entry);
            manifest.Add(entry);
        }

        foreach (var (repo, tags) in repositories2.ToList())
        {
            repositories2.Remove(repo);
            if (repositories[repo] is JsonObject existing && tags is JsonObject newTags)
            {
                foreach (var (tag, id) in newTags.ToList())
                {
                    newTags.Remove(tag);
                    existing[tag] = id;
                }
            }
            else
            {
                repositories[repo] = tags;
            }
        }

        var compact = new JsonSerializerOptions { WriteIndented = false };
        await File.WriteAllTextAsync(Path.Combine(merge, "manifest.json"), manifest.ToJsonString(compact), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(merge, "repositories"), repositories.ToJsonString(compact), cancellationToken);

        var blobs = Directory.EnumerateFileSystemEntries(merge)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => n is not "manifest.json" and not "repositories")
            .Order(StringComparer.Ordinal);
        var output = NewOutputPath(dir, "docker-archive-2img", ".tar");
        await Tools.RunAsync(
            "tar",
            ["--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-C", merge, "-cf", output, .. blobs, "manifest.json", "repositories"],
            cancellationToken);
        Directory.Delete(merge, recursive: true);
        File.Delete(first);
        File.Delete(second);

        var digests = LayoutDigests(layout);
        return new ToolArchive(
            output,
            ArchiveFormat.DockerArchive,
            [baseRef, otherRef],
            new Dictionary<string, string>(StringComparer.Ordinal) { [baseRef] = digests[BaseTag].Config, [otherRef] = digests[OtherTag].Config },
            new Dictionary<string, string>(StringComparer.Ordinal));
    }

    /// <summary><c>skopeo copy oci:SRC:base oci-archive:OUT:TAG</c>. TAG may be a bare tag or a full reference.</summary>
    public static async Task<ToolArchive> OciArchiveAsync(string dir, string tag, CancellationToken cancellationToken)
    {
        var layout = await SourceLayoutAsync(dir, cancellationToken);
        var output = NewOutputPath(dir, "oci-archive", ".tar");
        await Tools.SkopeoAsync(["copy", "-q", $"oci:{layout}:{BaseTag}", $"oci-archive:{output}:{tag}"], cancellationToken);
        var digests = LayoutDigests(layout)[BaseTag];
        return new ToolArchive(
            output,
            ArchiveFormat.OciArchive,
            [tag],
            new Dictionary<string, string>(StringComparer.Ordinal) { [tag] = digests.Config },
            new Dictionary<string, string>(StringComparer.Ordinal) { [tag] = digests.Manifest });
    }

    /// <summary>An OCI layout with every ref pointing at the base image, tarred with <c>tar -C L -cf OUT .</c>.</summary>
    public static Task<ToolArchive> OciLayoutTarAsync(string dir, IReadOnlyList<string> refs, CancellationToken cancellationToken) =>
        OciLayoutTarAsync(dir, refs.Distinct(StringComparer.Ordinal).ToDictionary(r => r, _ => BaseTag, StringComparer.Ordinal), cancellationToken);

    /// <summary>
    /// An OCI layout built with <c>skopeo copy oci:SRC:SOURCETAG oci:L:REF</c> per entry (ref -> source tag,
    /// <see cref="BaseTag"/> or <see cref="OtherTag"/>), then <c>tar -C L -cf OUT .</c>, so entries are "./index.json",
    /// "./blobs/sha256/...". Refs may be bare tags or full references such as docker.io/library/foo:1.0.
    /// </summary>
    public static async Task<ToolArchive> OciLayoutTarAsync(string dir, IReadOnlyDictionary<string, string> refToSourceTag, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfZero(refToSourceTag.Count);
        var layout = await SourceLayoutAsync(dir, cancellationToken);
        var target = NewOutputPath(dir, "oci-layout", string.Empty);
        foreach (var (refName, sourceTag) in refToSourceTag)
        {
            await Tools.SkopeoAsync(["copy", "-q", $"oci:{layout}:{sourceTag}", $"oci:{target}:{refName}"], cancellationToken);
        }

        var output = target + ".tar";
        await Tools.RunAsync("tar", ["-C", target, "-cf", output, "."], cancellationToken);
        Directory.Delete(target, recursive: true);

        var digests = LayoutDigests(layout);
        var refs = refToSourceTag.Keys.ToList();
        return new ToolArchive(
            output,
            ArchiveFormat.OciLayoutTar,
            refs,
            refs.ToDictionary(r => r, r => digests[refToSourceTag[r]].Config, StringComparer.Ordinal),
            refs.ToDictionary(r => r, r => digests[refToSourceTag[r]].Manifest, StringComparer.Ordinal));
    }

    /// <summary>Manifest and config digest per ref name in an OCI layout's index.json.</summary>
    public static IReadOnlyDictionary<string, (string Manifest, string Config)> LayoutDigests(string layout)
    {
        using var index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(layout, "index.json")));
        var result = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        foreach (var m in index.RootElement.GetProperty("manifests").EnumerateArray())
        {
            if (!m.TryGetProperty("annotations", out var ann) || !ann.TryGetProperty("org.opencontainers.image.ref.name", out var name))
            {
                continue;
            }

            var manifestDigest = m.GetProperty("digest").GetString()!;
            using var manifest = JsonDocument.Parse(File.ReadAllBytes(BlobPath(layout, manifestDigest)));
            var configDigest = manifest.RootElement.GetProperty("config").GetProperty("digest").GetString()!;
            result[name.GetString()!] = (manifestDigest, configDigest);
        }

        return result;
    }

    private static string BlobPath(string layout, string digest)
    {
        var parts = digest.Split(':', 2);
        return Path.Combine(layout, "blobs", parts[0], parts[1]);
    }

    private static string NewOutputPath(string dir, string stem, string extension)
    {
        Directory.CreateDirectory(dir);
        var n = Interlocked.Increment(ref _counter);
        return Path.Combine(Path.GetFullPath(dir), $"{stem}-{n.ToString(CultureInfo.InvariantCulture)}{extension}");
    }

    private static async Task SkopeoToDockerArchiveAsync(string layout, string sourceTag, string output, IReadOnlyList<string> refs, CancellationToken cancellationToken)
    {
        var args = new List<string> { "copy", "-q", $"oci:{layout}:{sourceTag}", $"docker-archive:{output}:{refs[0]}" };
        foreach (var extra in refs.Skip(1))
        {
            args.Add("--additional-tag");
            args.Add(extra);
        }

        await Tools.SkopeoAsync(args, cancellationToken);
    }

    /// <summary>
    /// <c>skopeo copy</c> to a docker-archive of a two-layer image whose layers <c>umoci insert</c> wrote. umoci 0.4.7 ends
    /// such a layer tar right after its last file's data: no padding, no end-of-archive blocks, which Go's archive/tar
    /// (and so containerd's applier) takes as the end of the archive. The last files have odd sizes, so the data ends
    /// inside a block.
    /// </summary>
    public static async Task<ToolArchive> InsertedDockerArchiveAsync(string dir, string reference, CancellationToken cancellationToken)
    {
        var work = Path.Combine(Path.GetFullPath(dir), $"inserted-{Interlocked.Increment(ref _counter)}");
        var layout = Path.Combine(work, "layout");
        var image = $"{layout}:inserted";
        await Tools.UmociAsync(["init", "--layout", layout], cancellationToken);
        await Tools.UmociAsync(["new", "--image", image], cancellationToken);
        var first = Directory.CreateDirectory(Path.Combine(work, "first", "etc", "inserted")).FullName;
        File.WriteAllText(Path.Combine(first, "a.conf"), "first layer\n");
        File.WriteAllBytes(Path.Combine(first, "z.bin"), [.. Enumerable.Range(0, 1001).Select(i => (byte)i)]);
        await Tools.UmociAsync(["insert", "--image", image, "--history.created", Created, Path.Combine(work, "first", "etc"), "/etc"], cancellationToken);
        var second = Directory.CreateDirectory(Path.Combine(work, "second", "inserted")).FullName;
        File.WriteAllText(Path.Combine(second, "b.txt"), new string('x', 777));
        await Tools.UmociAsync(["insert", "--image", image, "--history.created", Created, Path.Combine(work, "second"), "/opt"], cancellationToken);
        await Tools.UmociAsync(["config", "--image", image, "--created", Created, "--architecture", "amd64", "--os", "linux", "--config.cmd", "/bin/true"], cancellationToken);
        var output = NewOutputPath(dir, "docker-archive-inserted", ".tar");
        await SkopeoToDockerArchiveAsync(layout, "inserted", output, [reference], cancellationToken);
        return new ToolArchive(
            output,
            ArchiveFormat.DockerArchive,
            [reference],
            new Dictionary<string, string>(StringComparer.Ordinal) { [reference] = LayoutDigests(layout)["inserted"].Config },
            new Dictionary<string, string>(StringComparer.Ordinal));
    }

    private static async Task<string> BuildSourceLayoutAsync(string layout, CancellationToken cancellationToken)
    {
        var work = layout + "-work";
        if (Directory.Exists(layout))
        {
            Directory.Delete(layout, recursive: true);
        }

        await Tools.UmociAsync(["init", "--layout", layout], cancellationToken);

        await BuildImageAsync(
            layout,
            BaseTag,
            Path.Combine(work, "bundle-base"),
            [
                ("COPY etc/ /etc/", Sync(AddEtcFiles)),
                ("COPY usr/ /usr/", Sync(AddUsrFiles)),
                ("RUN rm /etc/protocols", Sync(rootfs => File.Delete(Path.Combine(rootfs, "etc", "protocols")))),
            ],
            ["--config.cmd", "/usr/local/bin/hello", "--config.label", "org.opencontainers.image.title=imageimportd-fixture-base"],
            cancellationToken);

        await BuildImageAsync(
            layout,
            OtherTag,
            Path.Combine(work, "bundle-other"),
            [
                ("COPY other/ /opt/other/", Sync(AddOtherFiles)),
                ("RUN ln data.bin data-link.bin; add private.conf (0600) and /var/empty-dir", AddOtherSpecialsAsync),
            ],
            ["--config.cmd", "/bin/true", "--config.label", "org.opencontainers.image.title=imageimportd-fixture-other"],
            cancellationToken);

        await Tools.UmociAsync(["gc", "--layout", layout], cancellationToken);
        Directory.Delete(work, recursive: true);
        return layout;
    }

    // unpack/repack (not `umoci insert`): umoci 0.4.7's insert writes layer tars without the final
    // block padding and end-of-archive marker; repack writes well-formed tars.
    private static async Task BuildImageAsync(
        string layout,
        string tag,
        string bundle,
        IReadOnlyList<(string CreatedBy, Func<string, CancellationToken, Task> Change)> layers,
        IReadOnlyList<string> configArgs,
        CancellationToken cancellationToken)
    {
        var image = $"{layout}:{tag}";
        await Tools.UmociAsync(["new", "--image", image], cancellationToken);
        await Tools.UmociAsync(["unpack", "--image", image, bundle], cancellationToken);
        var rootfs = Path.Combine(bundle, "rootfs");
        foreach (var (createdBy, change) in layers)
        {
            await change(rootfs, cancellationToken);
            await TouchTreeAsync(rootfs, cancellationToken);
            await Tools.UmociAsync(
                ["repack", "--refresh-bundle", "--history.created", Created, "--history.created_by", createdBy, "--image", image, bundle],
                cancellationToken);
        }

        await Tools.UmociAsync(
            [
                "config", "--image", image,
                "--created", Created, "--history.created", Created, "--history.created_by", "umoci config",
                "--architecture", "amd64", "--os", "linux",
                "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--config.workingdir", "/",
                .. configArgs,
            ],
            cancellationToken);
    }

    // Fixed mtimes make layer digests reproducible; -h so symlinks keep their own time.
    private static async Task TouchTreeAsync(string rootfs, CancellationToken cancellationToken)
    {
        var entries = Directory.EnumerateFileSystemEntries(rootfs, "*", SearchOption.AllDirectories).Prepend(rootfs);
        await Tools.RunAsync("touch", ["-h", "-d", TouchTime, .. entries], cancellationToken);
    }

    private static void AddEtcFiles(string rootfs)
    {
        var etc = Directory.CreateDirectory(Path.Combine(rootfs, "etc")).FullName;
        CopyOrSynthesize("/etc/os-release", Path.Combine(etc, "os-release"), 4);
        CopyOrSynthesize("/etc/debian_version", Path.Combine(etc, "debian_version"), 1);
        CopyOrSynthesize("/etc/services", Path.Combine(etc, "services"), 300);
        CopyOrSynthesize("/etc/protocols", Path.Combine(etc, "protocols"), 60);
    }

    private static void AddUsrFiles(string rootfs)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("image fixtures are built on Linux");
        }

        var doc = Directory.CreateDirectory(Path.Combine(rootfs, "usr", "share", "doc", "imageimportd-fixture")).FullName;
        CopyOrSynthesize("/usr/share/common-licenses/Apache-2.0", Path.Combine(doc, "Apache-2.0"), 200);
        CopyOrSynthesize("/usr/share/common-licenses/BSD", Path.Combine(doc, "BSD"), 30);
        var bin = Directory.CreateDirectory(Path.Combine(rootfs, "usr", "local", "bin")).FullName;
        var hello = Path.Combine(bin, "hello");
        File.WriteAllText(hello, "#!/bin/sh\necho hello from imageimportd fixture\n");
        File.SetUnixFileMode(hello, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.CreateSymbolicLink(Path.Combine(bin, "hi"), "hello");
    }

    private static void AddOtherFiles(string rootfs)
    {
        var other = Directory.CreateDirectory(Path.Combine(rootfs, "opt", "other")).FullName;
        File.WriteAllText(Path.Combine(other, "README"), SyntheticText("other", 40));
        File.WriteAllBytes(Path.Combine(other, "data.bin"), DeterministicBytes(8192));
    }

    private static Func<string, CancellationToken, Task> Sync(Action<string> change) =>
        (rootfs, _) =>
        {
            change(rootfs);
            return Task.CompletedTask;
        };

    private static async Task AddOtherSpecialsAsync(string rootfs, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("image fixtures are built on Linux");
        }

        var other = Path.Combine(rootfs, "opt", "other");
        // Hard link: no managed API, ln(1) from coreutils.
        await Tools.RunAsync("ln", [Path.Combine(other, "data.bin"), Path.Combine(other, "data-link.bin")], cancellationToken);
        var secret = Path.Combine(other, "private.conf");
        File.WriteAllText(secret, "token=not-a-secret\n");
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Directory.CreateDirectory(Path.Combine(rootfs, "var", "empty-dir"));
    }

    private static void CopyOrSynthesize(string source, string destination, int syntheticLines)
    {
        if (File.Exists(source))
        {
            File.Copy(source, destination, overwrite: true);
        }
        else
        {
            File.WriteAllText(destination, SyntheticText(Path.GetFileName(source), syntheticLines));
        }
    }

    private static string SyntheticText(string seed, int lines)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < lines; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{seed} line {i}: the quick brown fox jumps over the lazy dog\n");
        }

        return sb.ToString();
    }

    // Incompressible-ish but reproducible: a fixed xorshift stream.
    private static byte[] DeterministicBytes(int length)
    {
        var bytes = new byte[length];
        var x = 0x2545F4914F6CDD1DUL;
        for (var i = 0; i < length; i++)
        {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            bytes[i] = (byte)x;
        }

        return bytes;
    }
}
