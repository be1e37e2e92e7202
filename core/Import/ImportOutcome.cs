namespace Imageimportd.Import;

/// <summary>The outcome of one file, as logged in the <c>Outcome</c> property.</summary>
public enum ImportOutcome
{
    Imported,
    Unchanged,
    Failed,
    Pulled,
    Unpinned,
}
