namespace Imageimportd.Tests.Harness;

/// <summary>One row of <c>ctr snapshots ls</c>; Parent is null for a base layer. Kind is Committed, Active or View.</summary>
public sealed record SnapshotRecord(string Key, string? Parent, string Kind);
