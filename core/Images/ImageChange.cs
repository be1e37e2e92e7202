namespace Imageimportd.Images;

/// <summary>What happened to one image name.</summary>
public enum ImageChange
{
    Created,

    /// <summary>The name existed and now points at another target (the old one is returned beside it).</summary>
    Repointed,

    /// <summary>The name pointed at the same target; only labels were added.</summary>
    Relabeled,

    /// <summary>Nothing to write: same target, labels already there.</summary>
    Unchanged,
}
