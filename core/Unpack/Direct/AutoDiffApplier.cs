using Imageimportd.Oci;

namespace Imageimportd.Unpack.Direct;

/// <summary>
/// <c>--unpack-via auto</c>: applies directly when this process can write the snapshot's directory itself (root, and
/// the directory the mounts name exists here: same host, containerd's root visible), else through containerd's Diff
/// service. The choice is reported when it first changes, with the reason, not once per layer.
/// </summary>
public sealed class AutoDiffApplier(IDiffApplier diff, IDiffApplier direct, Action<string>? report) : IDiffApplier
{
    private static string? _lastChoice;

    public ValueTask<Descriptor> ApplyAsync(Descriptor layer, IReadOnlyList<Mount> mounts, CancellationToken cancellationToken) =>
        Choose(mounts, report) ? direct.ApplyAsync(layer, mounts, cancellationToken) : diff.ApplyAsync(layer, mounts, cancellationToken);

    /// <summary>
    /// True when <paramref name="mounts"/> are to be written directly; reports the choice when it changed (also for the
    /// import's streaming layer tee, so the log says it once whichever applies the layer).
    /// </summary>
    public static bool Choose(IReadOnlyList<Mount> mounts, Action<string>? report)
    {
        var useDirect = CanApplyDirectly(mounts, out var reason);
        var choice = useDirect ? $"unpack via direct apply: {reason}" : $"unpack via containerd's Diff service: {reason}";
        if (Interlocked.Exchange(ref _lastChoice, choice) != choice)
        {
            report?.Invoke(choice);
        }

        return useDirect;
    }

    /// <summary>True when <see cref="DirectDiffApplier"/> can write what <paramref name="mounts"/> describe from here.</summary>
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
            reason = $"{kind} {target.Root} is not visible from this process";
            return false;
        }

        reason = $"{kind} {target.Root} is visible from this process";
        return true;
    }
}
