namespace Imageimportd.Tests.Harness;

/// <summary>One blob in the content store (<c>ctr content ls</c>).</summary>
public sealed record ContentRecord(string Digest, IReadOnlyDictionary<string, string> Labels);
