namespace Imageimportd.Observe;

/// <summary>One file's last known outcome, as the status file records it.</summary>
public sealed record FileStatus(string State, DateTimeOffset At, IReadOnlyList<string> Images, string? Cause, string? Detail);
