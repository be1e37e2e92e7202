using Imageimportd.Oci;

namespace Imageimportd.Images;

/// <summary>An image as containerd's image store keeps it: a name pointing at a target descriptor, with labels.</summary>
public sealed record ImageRecord(string Name, Descriptor Target, IReadOnlyDictionary<string, string> Labels);
