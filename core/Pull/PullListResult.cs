namespace Imageimportd.Pull;

/// <summary>One run over a pull list: a result per entry, in the entries' order (not completion order).</summary>
public sealed record PullListResult(string Source, IReadOnlyList<PullEntryResult> Entries, TimeSpan Duration)
{
    public int Pulled => Entries.Count(e => e.Outcome == PullOutcome.Pulled);

    public int AlreadyPresent => Entries.Count(e => e.Outcome == PullOutcome.AlreadyPresent);

    public int Failed => Entries.Count(e => e.Outcome == PullOutcome.Failed);

    /// <summary>True when some entry failed in a way a later run may fix by itself.</summary>
    public bool AnyTransientFailure => Entries.Any(e => e.Outcome == PullOutcome.Failed && e.IsTransient);
}
