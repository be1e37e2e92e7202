namespace Imageimportd.Pull;

/// <summary>
/// The outcome for one <see cref="PullEntry"/>. <see cref="ImageId"/> is set whenever the image is known to be present,
/// also for a failure after the pull (labelling failed: present but not pinned). <see cref="LabeledNames"/> lists the
/// image records whose labels were written; empty means zero image writes. <see cref="FailureReason"/> and
/// <see cref="IsTransient"/> are set only for <see cref="PullOutcome.Failed"/>; transient failures are worth retrying
/// (containerd unavailable, deadline, out of space), the others need a change to the list or the registry.
/// </summary>
public sealed record PullEntryResult(
    PullEntry Entry,
    PullOutcome Outcome,
    string? ImageId,
    IReadOnlyList<string> LabeledNames,
    string? FailureReason,
    bool IsTransient,
    TimeSpan Duration);
