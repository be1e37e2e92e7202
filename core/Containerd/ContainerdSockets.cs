namespace Imageimportd.Containerd;

/// <summary>
/// Where containerd listens when no address is given: the upstream default, then the sockets of the Kubernetes
/// distributions that run their own containerd. The first that exists wins; when none does, the default (which the
/// caller then waits for).
/// </summary>
public static class ContainerdSockets
{
    /// <summary>The candidates in the order they are tried, each with who uses it.</summary>
    public static IReadOnlyList<(string Path, string Who)> Candidates { get; } =
    [
        (ContainerdOptions.DefaultAddress, "containerd"),
        ("/run/k3s/containerd/containerd.sock", "k3s/RKE2"),
        ("/run/k0s/containerd.sock", "k0s"),
        ("/var/snap/microk8s/common/run/containerd.sock", "MicroK8s"),
    ];

    /// <summary>
    /// The first candidate that exists under <paramref name="root"/> (<c>/</c> on a node; a temp directory in tests),
    /// as a full path, with who uses it; the default under root when none exists.
    /// </summary>
    public static (string Path, string Who, bool Found) Find(string root)
    {
        foreach (var (path, who) in Candidates)
        {
            var full = Under(root, path);
            if (Path.Exists(full))
            {
                return (full, who, true);
            }
        }

        return (Under(root, ContainerdOptions.DefaultAddress), Candidates[0].Who, false);
    }

    private static string Under(string root, string path) => root is "" or "/" ? path : Path.Join(root, path);
}
