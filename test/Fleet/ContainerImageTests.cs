using System.Text.Json;
using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Fleet;

/// <summary>
/// <c>make image</c> for real: the OCI archive is imported by imageimportd into a private containerd, run there
/// under runc with the socket directory and an images directory mounted where the DaemonSet mounts them, and the
/// containerized daemon imports a file dropped into that directory.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ContainerImageTests
{
    [Test]
    public async Task Image_RunUnderRunc_ImportsDroppedArchive()
    {
        using var dir = new TempDirectory("iid-image-");
        var image = await BuildImageAsync();
        var (name, annotations) = ReadIndex(image);
        var version = (await ImageimportdCli.RunRawAsync(["--version"]).Bounded()).Stdout.Trim().Split('+')[0];
        Assert.That(name, Is.EqualTo("imageimportd:" + version));
        Assert.That(annotations, Does.ContainKey("org.opencontainers.image.version").WithValue(version));
        Assert.That(annotations, Does.ContainKey("org.opencontainers.image.revision"));
        Assert.That(annotations, Does.ContainKey("org.opencontainers.image.source"));

        var containerd = await SharedContainerd.GetAsync().Bounded();
        var runNs = SharedContainerd.NewNamespace("image-run");
        var targetNs = SharedContainerd.NewNamespace("image-target");
        var imported = await ImageimportdCli.RunAsync(containerd, runNs, "import-once", image).Bounded(180);
        Assert.That(imported.ExitCode, Is.Zero, imported.Output);
        var imageName = "docker.io/library/imageimportd:" + version;
        var ctr = containerd.CtrFor(runNs);
        Assert.That((await ctr.ListImagesAsync().Bounded()).Select(i => i.Name), Does.Contain(imageName));

        var images = Directory.CreateDirectory(dir.Combine("images")).FullName;
        var log = dir.Combine("container.log");
        var id = "iid-" + Guid.NewGuid().ToString("N")[..8];
        // As the DaemonSet runs it: the socket's directory at /run/containerd, the images at their default path, a
        // read-only root with a small tmpfs for the state file, no capabilities. The default command is kept; only the
        // namespace differs so this test sees its own images.
        await ctr.RunAsync([
            "run", "-d", "--log-uri", "file://" + log, "--read-only", .. DefaultCapabilities.SelectMany(c => new[] { "--cap-drop", c }),
            "--mount", "type=tmpfs,src=tmpfs,dst=/run/imageimportd,options=size=1m:mode=0755",
            "--env", "CONTAINERD_NAMESPACE=" + targetNs,
            "--mount", $"type=bind,src={Path.GetDirectoryName(containerd.Address)},dst=/run/containerd,options=bind:rw",
            "--mount", $"type=bind,src={images},dst=/var/lib/imageimportd/images,options=rbind:rw",
            imageName, id]).Bounded();
        try
        {
            await WaitForAsync(() => File.Exists(log) && File.ReadAllText(log).Contains("initial import done", StringComparison.Ordinal), log, "the containerized daemon to be ready");

            var archive = await ToolArchives.DockerArchiveAsync(dir.Combine("src"), ["docker.io/library/incontainer:1.0"], CancellationToken.None).Bounded();
            var temp = Path.Combine(images, ".incoming");
            File.Copy(archive.Path, temp);
            File.Move(temp, Path.Combine(images, "app.tar"));

            var target = containerd.CtrFor(targetNs);
            await WaitForAsync(
                async () => (await target.ListImagesAsync().Bounded()).Any(i => i.Name == "docker.io/library/incontainer:1.0"),
                log,
                "the dropped archive to be imported by the containerized daemon");
            Assert.That(await File.ReadAllTextAsync(log).Bounded(), Does.Contain("imported /var/lib/imageimportd/images/app.tar"));
            await AssertReadyProbeAsync(ctr, id);

            await ctr.RunAsync(["task", "kill", "-s", "SIGTERM", id]).Bounded();
            await WaitForAsync(async () => (await ctr.RunAsync(["task", "ls"]).Bounded()).Split('\n').Any(l => l.StartsWith(id + " ", StringComparison.Ordinal) && l.Contains("STOPPED", StringComparison.Ordinal)), log, "the container to stop");
            // The shim copies the container's output to the log file on its own schedule, and deleting the task ends
            // that copy: wait for the last line while the task is still there (a run that deleted first lost it).
            await WaitForAsync(() => File.ReadAllText(log).Contains("stopped", StringComparison.Ordinal), log, "the daemon's last log line");
            var deleted = await ctr.RunUncheckedAsync(["task", "delete", id]).Bounded();
            Assert.That(deleted.Stderr, Does.Not.Contain("non-zero exit code"), "SIGTERM stops the daemon with exit 0");
        }
        finally
        {
            await ctr.RunUncheckedAsync(["task", "kill", "-s", "SIGKILL", id]).Bounded();
            await WaitForAsync(async () => (await ctr.RunUncheckedAsync(["task", "delete", id]).Bounded()).Succeeded || !(await ctr.RunAsync(["task", "ls"]).Bounded()).Contains(id, StringComparison.Ordinal), log, "the task to go", throwOnTimeout: false);
            await ctr.RunUncheckedAsync(["containers", "delete", id]).Bounded();
        }
    }

    /// <summary>containerd's default set for a container; ctr 1.6 has no "drop ALL", so each is named.</summary>
    private static readonly string[] DefaultCapabilities =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ];

    /// <summary>The DaemonSet's readiness probe, run the way kubelet runs it: an exec in the container.</summary>
    private static async Task AssertReadyProbeAsync(Ctr ctr, string id)
    {
        var probe = await ctr.RunUncheckedAsync(["task", "exec", "--exec-id", "ready-" + Guid.NewGuid().ToString("N")[..6], id, "/usr/bin/imageimportd", "status", "--ready", "--images", "/var/lib/imageimportd/images"]).Bounded();
        Assert.That(probe.ExitCode, Is.Zero, probe.StdoutText + probe.Stderr);
    }

    internal static async Task<string> BuildImageAsync()
    {
        var build = await Tools.RunUncheckedAsync("bash", [Path.Combine(RepoPaths.Root, "scripts", "build-image.sh")], TimeSpan.FromMinutes(4), CancellationToken.None).Bounded(300);
        Assert.That(build.ExitCode, Is.Zero, build.Stderr);
        return Path.Combine(RepoPaths.Root, build.StdoutText.Trim());
    }

    private static (string RefName, Dictionary<string, string> Annotations) ReadIndex(string image)
    {
        using var dir = new TempDirectory("iid-image-index-");
        System.Formats.Tar.TarFile.ExtractToDirectory(image, dir.Path, overwriteFiles: false);
        using var index = JsonDocument.Parse(File.ReadAllText(dir.Combine("index.json")));
        var entry = index.RootElement.GetProperty("manifests")[0];
        var refName = entry.GetProperty("annotations").GetProperty("org.opencontainers.image.ref.name").GetString()!;
        var manifestDigest = entry.GetProperty("digest").GetString()!["sha256:".Length..];
        using var manifest = JsonDocument.Parse(File.ReadAllText(dir.Combine("blobs", "sha256", manifestDigest)));
        var annotations = manifest.RootElement.GetProperty("annotations").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        return (refName, annotations);
    }

    private static Task WaitForAsync(Func<bool> condition, string log, string what) => WaitForAsync(() => Task.FromResult(condition()), log, what);

    private static async Task WaitForAsync(Func<Task<bool>> condition, string log, string what, bool throwOnTimeout = true)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                if (throwOnTimeout)
                {
                    Assert.Fail($"timed out waiting for {what}; container log:\n{(File.Exists(log) ? File.ReadAllText(log) : "(none)")}");
                }

                return;
            }

            await Task.Delay(300);
        }
    }
}
