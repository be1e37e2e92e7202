using Imageimportd.Tests.Harness;
using Imageimportd.Tests.Integration;
using NUnit.Framework;

namespace Imageimportd.Tests.Fleet;

/// <summary>
/// <c>make deb</c> end to end on this machine: build, lintian, <c>dpkg -i</c>, the installed binary, remove, purge.
/// It installs into the real /usr/bin, so it refuses to run over an imageimportd it did not install, and purges
/// whatever happens.
/// </summary>
[TestFixture]
[NonParallelizable]
[Category("NoContainerd")]
public sealed class DebPackageTests
{
    private const string Package = "imageimportd";
    private const string OurMaintainer = "eng@imageimportd.dev";

    [Test]
    public async Task Deb_BuildLintInstallRemovePurge_Clean()
    {
        await EnsureNotInstalledByOthersAsync();
        var build = await Tools.RunUncheckedAsync("bash", [Path.Combine(RepoPaths.Root, "scripts", "build-deb.sh")], TimeSpan.FromMinutes(3), CancellationToken.None).Bounded(240);
        Assert.That(build.ExitCode, Is.Zero, build.Stderr);
        var deb = Path.Combine(RepoPaths.Root, build.StdoutText.Trim());
        Assert.That(Path.GetFileName(deb), Does.Match(@"^imageimportd_\d+\.\d+\.\d+_[a-z0-9]+\.deb$"));

        var lint = await Tools.RunUncheckedAsync("lintian", ["--fail-on", "error", deb], TimeSpan.FromMinutes(3), CancellationToken.None).Bounded(240);
        Assert.That(lint.ExitCode, Is.Zero, lint.StdoutText + lint.Stderr);
        Assert.That(lint.StdoutText, Does.Not.Match("(?m)^E: "), lint.StdoutText);

        try
        {
            await DpkgAsync("-i", deb);
            var files = (await Tools.RunAsync("dpkg", ["-L", Package], CancellationToken.None).Bounded()).Split('\n', StringSplitOptions.TrimEntries);
            Assert.That(files, Is.SupersetOf(new[]
            {
                "/usr/bin/imageimportd",
                "/lib/systemd/system/imageimportd.service",
                "/etc/default/imageimportd",
                "/var/lib/imageimportd/images",
                "/usr/share/bash-completion/completions/imageimportd",
                "/usr/share/doc/imageimportd/copyright",
            }));
            var conffiles = await Tools.RunAsync("dpkg-query", ["-W", "-f=${Conffiles}", Package], CancellationToken.None).Bounded();
            Assert.That(conffiles, Does.Contain("/etc/default/imageimportd"));

            var version = await Tools.RunAsync("/usr/bin/imageimportd", ["--version"], CancellationToken.None).Bounded();
            var debVersion = Path.GetFileName(deb).Split('_')[1];
            Assert.That(version.Trim(), Does.StartWith(debVersion));

            var unit = await File.ReadAllTextAsync("/lib/systemd/system/imageimportd.service").Bounded();
            Assert.That(unit, Does.Contain("EnvironmentFile=-/etc/default/imageimportd"));
            Assert.That(unit, Does.Contain("ExecStart=/usr/bin/imageimportd watch $IMAGEIMPORTD_ARGS"));
            Assert.That(await File.ReadAllTextAsync("/etc/default/imageimportd").Bounded(), Does.Contain("IMAGEIMPORTD_ARGS=\"--images /var/lib/imageimportd/images\""));
            // Enabled as deb-systemd-helper enables without a running systemd: the wants link is there.
            Assert.That(File.Exists("/etc/systemd/system/multi-user.target.wants/imageimportd.service"), Is.True, "the unit is enabled on install");
            var verify = await Tools.RunUncheckedAsync("systemd-analyze", ["verify", "/lib/systemd/system/imageimportd.service"], TimeSpan.FromSeconds(60), CancellationToken.None).Bounded();
            Assert.That(verify.Stderr, Does.Not.Contain("imageimportd.service"), verify.Stderr);

            // Completion: the installed script completes a verb's option through the installed binary.
            var completion = await Tools.RunAsync(
                "bash",
                ["-c", "source /usr/share/bash-completion/completions/imageimportd; COMP_LINE='imageimportd watch --ima'; COMP_POINT=${#COMP_LINE}; COMP_WORDS=(imageimportd watch --ima); _imageimportd; printf '%s\\n' \"${COMPREPLY[@]}\""],
                CancellationToken.None).Bounded();
            Assert.That(completion.Trim(), Is.EqualTo("--images"));

            await DpkgAsync("-r", Package);
            Assert.That(File.Exists("/usr/bin/imageimportd"), Is.False, "remove takes the binary");
            Assert.That(File.Exists("/etc/default/imageimportd"), Is.True, "remove keeps the conffile");

            await DpkgAsync("-P", Package);
            Assert.That(File.Exists("/etc/default/imageimportd"), Is.False, "purge takes the conffile");
            Assert.That(Directory.Exists("/var/lib/imageimportd"), Is.False, "purge takes the empty state directory");
            // Remove keeps the enablement (a reinstall restores it, as with every Debian service); purge forgets it.
            Assert.That(new FileInfo("/etc/systemd/system/multi-user.target.wants/imageimportd.service").LinkTarget, Is.Null, "purge disables the unit");
            Assert.That(File.Exists("/var/lib/systemd/deb-systemd-helper-enabled/imageimportd.service.dsh-also"), Is.False, "purge forgets the enablement");
            Assert.That(new FileInfo("/etc/systemd/system/imageimportd.service").LinkTarget, Is.Null, "purge leaves no mask");
            var status = await Tools.RunUncheckedAsync("dpkg-query", ["-W", "-f=${db:Status-Status}", Package], TimeSpan.FromSeconds(30), CancellationToken.None).Bounded();
            Assert.That(status.ExitCode != 0 || status.StdoutText.Trim() == "not-installed", Is.True, status.StdoutText);
        }
        finally
        {
            if (await InstalledMaintainerAsync() is not null)
            {
                await DpkgAsync("-P", Package);
            }
        }
    }

    /// <summary>A leftover of an interrupted run of this test is purged; anything else is not ours to touch.</summary>
    private static async Task EnsureNotInstalledByOthersAsync()
    {
        var maintainer = await InstalledMaintainerAsync();
        if (maintainer is not null)
        {
            Assert.That(maintainer, Does.Contain(OurMaintainer), "an imageimportd package from elsewhere is installed; this test will not replace it");
            await DpkgAsync("-P", Package);
        }

        Assert.That(File.Exists("/usr/bin/imageimportd"), Is.False, "/usr/bin/imageimportd exists and is not from our package; this test will not overwrite it");
    }

    private static async Task<string?> InstalledMaintainerAsync()
    {
        var result = await Tools.RunUncheckedAsync("dpkg-query", ["-W", "-f=${db:Status-Status} ${Maintainer}", Package], TimeSpan.FromSeconds(30), CancellationToken.None).Bounded();
        var text = result.StdoutText.Trim();
        return result.ExitCode == 0 && text.Length > 0 && !text.StartsWith("not-installed", StringComparison.Ordinal) ? text : null;
    }

    /// <summary>dpkg, waiting out another apt/dpkg run holding the lock (the machine is shared).</summary>
    private static async Task DpkgAsync(params string[] args)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            var result = await Tools.RunUncheckedAsync("dpkg", args, TimeSpan.FromMinutes(2), CancellationToken.None).Bounded(180);
            if (result.Succeeded)
            {
                return;
            }

            if (!result.Stderr.Contains("lock", StringComparison.OrdinalIgnoreCase) || DateTime.UtcNow > deadline)
            {
                Assert.Fail($"dpkg {string.Join(' ', args)} failed ({result.ExitCode}):\n{result.StdoutText}{result.Stderr}");
            }

            await Task.Delay(TimeSpan.FromSeconds(3));
        }
    }
}
