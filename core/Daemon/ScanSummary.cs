namespace Imageimportd.Daemon;

/// <summary>
/// What one <see cref="ScanPass"/> found. <paramref name="Queued"/> (in path order): new, changed or to be imported
/// again, handed to the queue; <paramref name="Unchanged"/> (in path order): imported as they are (re-pinned where
/// needed on the initial pass); <paramref name="Gone"/> (in no order): cached files under the directory that no
/// longer exist.
/// </summary>
public sealed record ScanSummary(IReadOnlyList<string> Queued, IReadOnlyList<string> Unchanged, IReadOnlyList<string> Gone);
