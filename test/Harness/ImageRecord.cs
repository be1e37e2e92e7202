namespace Imageimportd.Tests.Harness;

/// <summary>One row of <c>ctr images ls</c>. Digest and MediaType describe the image's target (manifest or index).</summary>
public sealed record ImageRecord(
    string Name,
    string Digest,
    string MediaType,
    IReadOnlyList<string> Platforms,
    IReadOnlyDictionary<string, string> Labels);
