using System.Collections.Concurrent;
using Imageimportd.Oci;

namespace Imageimportd.Unpack.Direct;

/// <summary>
/// <c>--unpack-via auto</c>: decides for each snapshot's mount set whether this process can write the snapshot's
/// directory itself (root, a mount <see cref="LayerTarget"/> understands, its directories visible here: same host,
/// containerd's root mounted) and applies directly if so, else through containerd's Diff service (a container without
/// containerd's root, another snapshotter, a remote containerd). Which path it took and why is reported once per
/// process for each path (the first layer's reason), not once per layer or per import.
/// </summary>
public sealed class AutoDiffApplier(IDiffApplier diff, IDiffApplier direct, Action<string>? report, ConcurrentDictionary<string, bool>? reported = null) : IDiffApplier
{
    // Process-wide, so a daemon importing file after file says it once, not once per import.
    private static readonly ConcurrentDictionary<string, bool> ReportedInProcess = new(StringComparer.Ordinal);

    // Keyed by the path taken ("direct", "diff").
    private readonly ConcurrentDictionary<string, bool> _reported = reported ?? ReportedInProcess;

    public ValueTask<Descriptor> ApplyAsync(Descriptor layer, IReadOnlyList<Mount> mounts, CancellationToken cancellationToken) =>
        Choose(mounts, report, _reported) ? direct.ApplyAsync(layer, mounts, cancellationToken) : diff.ApplyAsync(layer, mounts, cancellationToken);

    /// <summary>
    /// True when <paramref name="mounts"/> are to be written directly; reports the choice when it changed (also for the
    /// import's streaming layer tee, so the log says it once whichever applies the layer).
    /// </summary>
    public static bool Choose(IReadOnlyList<Mount> mounts, Action<string>? report, ConcurrentDictionary<string, bool>? reported = null)
    {
        var useDirect = CanApplyDirectly(mounts, out var reason);
        var choice = useDirect ? $"unpack via direct apply: {reason}" : $"unpack via containerd's Diff service: {reason}";
        if ((reported ?? ReportedInProcess).TryAdd(useDirect ? "direct" : "diff", true))
        {
            report?.Invoke(choice);
        }

        return useDirect;
    }

    /// <summary>
    /// True when <see cref="DirectDiffApplier"/> can write what <paramref name="mounts"/> describe from here, with the
    /// reason (it names no snapshot path: one report stands for every layer).
    /// </summary>
    public static bool CanApplyDirectly(IReadOnlyList<Mount> mounts, out string reason)
    {
        if (PosixFs.EffectiveUid != 0)
        {
            reason = "not running as root";
            return false;
        }

        if (LayerTarget.FromMounts(mounts, out var kind) is not { } target)
        {
            reason = kind + " needs a real mount";
            return false;
        }

        if (!Directory.Exists(target.Root) || target.Lowers.Any(l => !Directory.Exists(l)))
        {
            reason = $"the snapshot's {kind} directories are not visible from this process (containerd's root is not mounted here, or containerd runs elsewhere)";
            return false;
        }

        reason = "running as root and the snapshot directories containerd names are visible from this process";
        return true;
    }
}
