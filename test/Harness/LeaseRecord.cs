namespace Imageimportd.Tests.Harness;

/// <summary>One row of <c>ctr leases ls</c>.</summary>
public sealed record LeaseRecord(string Id, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, string> Labels);
