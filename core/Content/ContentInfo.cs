using Imageimportd.Oci;

namespace Imageimportd.Content;

/// <summary>What a content store knows about one committed blob.</summary>
public sealed record ContentInfo(Digest Digest, long Size, IReadOnlyDictionary<string, string> Labels);
