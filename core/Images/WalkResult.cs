using Imageimportd.Oci;

namespace Imageimportd.Images;

/// <summary>
/// One entry of the root index and what the walk found under it. <see cref="UnknownMediaType"/> names a media type
/// that is neither a manifest nor an index, met where a manifest was expected, when no host manifest was found.
/// </summary>
public sealed record WalkedImage(Descriptor Target, bool Complete, ResolvedManifest? HostManifest, IReadOnlyList<Digest> Missing, string? UnknownMediaType = null);

/// <summary>What the import walk decided: the root index entries, each with its completeness.</summary>
public sealed record WalkResult(IReadOnlyList<WalkedImage> Entries);
