namespace Imageimportd.Observe;

/// <summary>One file's import state (its last known outcome), as the status file records it; not a stat result (<see cref="Scan.FileStat"/>).</summary>
public sealed record FileImportState(string State, DateTimeOffset At, IReadOnlyList<string> Images, string? Cause, string? Detail);
