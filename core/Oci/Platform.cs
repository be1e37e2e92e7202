using System.Runtime.InteropServices;

namespace Imageimportd.Oci;

/// <summary>An OCI platform, compared after containerd's normalisation (x86_64 → amd64, aarch64 → arm64, …).</summary>
public sealed record Platform(string Os, string Architecture, string? Variant = null, string? OsVersion = null, IReadOnlyList<string>? OsFeatures = null)
{
    /// <summary>The platform this process runs on, normalised.</summary>
    public static Platform Host { get; } = Normalize(new Platform("linux", RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.X64 => "amd64",
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        System.Runtime.InteropServices.Architecture.Arm => "arm",
        System.Runtime.InteropServices.Architecture.X86 => "386",
        System.Runtime.InteropServices.Architecture.S390x => "s390x",
        System.Runtime.InteropServices.Architecture.Ppc64le => "ppc64le",
        System.Runtime.InteropServices.Architecture.RiscV64 => "riscv64",
        System.Runtime.InteropServices.Architecture.LoongArch64 => "loong64",
        var other => other.ToString().ToLowerInvariant(),
    }));

    /// <summary>
    /// Normalises OS, architecture and variant exactly as containerd's <c>platforms.Normalize</c> does,
    /// because the docker-archive index it writes carries the normalised platform and its digest depends on it.
    /// </summary>
    public static Platform Normalize(Platform p)
    {
        var os = string.IsNullOrEmpty(p.Os) ? "linux" : p.Os.ToLowerInvariant();
        if (os == "macos")
        {
            os = "darwin";
        }

        var arch = (p.Architecture ?? "").ToLowerInvariant();
        var variant = (p.Variant ?? "").ToLowerInvariant();
        switch (arch)
        {
            case "i386":
                arch = "386";
                variant = "";
                break;
            case "x86_64" or "x86-64" or "amd64":
                arch = "amd64";
                if (variant == "v1")
                {
                    variant = "";
                }

                break;
            case "aarch64" or "arm64":
                arch = "arm64";
                if (variant is "8" or "v8")
                {
                    variant = "";
                }

                break;
            case "armhf":
                arch = "arm";
                variant = "v7";
                break;
            case "armel":
                arch = "arm";
                variant = "v6";
                break;
            case "arm":
                variant = variant switch
                {
                    "" or "7" => "v7",
                    "5" or "6" or "8" => "v" + variant,
                    _ => variant,
                };
                break;
        }

        return p with { Os = os, Architecture = arch, Variant = variant.Length == 0 ? null : variant };
    }

    /// <summary>
    /// True when an image for <paramref name="candidate"/> runs on this platform: same OS and architecture,
    /// and a variant that is absent or equal (arm v6 runs on v7, v5 on v6 and v7).
    /// </summary>
    public bool Runs(Platform candidate)
    {
        var c = Normalize(candidate);
        var self = Normalize(this);
        if (c.Os != self.Os || c.Architecture != self.Architecture)
        {
            return false;
        }

        if (c.Variant is null || c.Variant == self.Variant)
        {
            return true;
        }

        return c.Architecture == "arm" && self.Variant is not null && string.CompareOrdinal(c.Variant, self.Variant) < 0;
    }

    public override string ToString() => Variant is null ? $"{Os}/{Architecture}" : $"{Os}/{Architecture}/{Variant}";
}
