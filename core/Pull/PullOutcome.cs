namespace Imageimportd.Pull;

/// <summary>What happened to one reference of a pull list.</summary>
public enum PullOutcome
{
    /// <summary>CRI already had the image; nothing was downloaded (labels may still have been written).</summary>
    AlreadyPresent,

    /// <summary>The image was pulled through CRI and labelled.</summary>
    Pulled,

    /// <summary>Status, pull or labelling failed; see <see cref="PullEntryResult.FailureReason"/>.</summary>
    Failed,
}
