using Imageimportd.Oci;

namespace Imageimportd.Images;

/// <summary>A platform manifest whose config and layers are all present, ready to unpack.</summary>
public sealed record ResolvedManifest(Descriptor Descriptor, ImageManifest Manifest, ImageConfig Config);
