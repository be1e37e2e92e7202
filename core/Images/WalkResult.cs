using Imageimportd.Oci;

namespace Imageimportd.Images;

/// <summary>One entry of the root index and what the walk found under it.</summary>
public sealed record WalkedImage(Descriptor Target, bool Complete, ResolvedManifest? HostManifest, IReadOnlyList<Digest> Missing);

/// <summary>What the import walk decided: the root index entries, each with its completeness.</summary>
public sealed record WalkResult(IReadOnlyList<WalkedImage> Entries);
