using Imageimportd.Tests.Harness;

namespace Imageimportd.Tests.Integration;

/// <summary>What a test of the watch daemon against the shared containerd starts from: its own namespace and images directory, and the daemon quick to settle and rescan.</summary>
internal static class WatchSetup
{
    /// <summary>The shared containerd, a new namespace named after <paramref name="name"/>, and an empty images directory under <paramref name="dir"/>.</summary>
    public static async Task<(ContainerdInstance Containerd, string Ns, string Images)> PrepareAsync(TempDirectory dir, string name)
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        var ns = SharedContainerd.NewNamespace(name);
        var images = Directory.CreateDirectory(dir.Combine("images-" + ns)).FullName;
        return (containerd, ns, images);
    }

    /// <summary><c>watch</c> on <paramref name="images"/> with <c>--settle 1</c> and <c>--scan-interval 2</c> unless <paramref name="extra"/> sets them.</summary>
    public static DaemonProcess Start(ContainerdInstance containerd, string ns, string images, params string[] extra) =>
        Start(containerd, ns, images, null, extra);

    public static DaemonProcess Start(ContainerdInstance containerd, string ns, string images, IReadOnlyDictionary<string, string>? env, params string[] extra) =>
        DaemonProcess.Start(
            ["watch", "--images", images, "--address", containerd.Address, "--namespace", ns,
             .. (extra.Contains("--settle") ? [] : new[] { "--settle", "1" }),
             .. (extra.Contains("--scan-interval") ? [] : new[] { "--scan-interval", "2" }),
             .. extra],
            env);
}
