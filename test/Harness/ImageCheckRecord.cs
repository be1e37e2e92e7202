namespace Imageimportd.Tests.Harness;

/// <summary>
/// One row of <c>ctr images check</c>: Status is ctr's word (complete, incomplete, unavailable, error);
/// Complete means all content for the host platform is present; Unpacked means the snapshot chain exists.
/// </summary>
public sealed record ImageCheckRecord(string Name, string Digest, string Status, bool Complete, bool Unpacked);
