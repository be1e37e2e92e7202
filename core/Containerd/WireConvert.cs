using Imageimportd.Errors;
using Imageimportd.Oci;
using Imageimportd.Proto.Types;

namespace Imageimportd.Containerd;

/// <summary>Between the core's descriptors and containerd's wire descriptors.</summary>
internal static class WireConvert
{
    public static OciDescriptor ToProto(Descriptor d)
    {
        var p = new OciDescriptor { MediaType = d.MediaType, Digest = d.Digest.Value, Size = d.Size };
        if (d.Annotations is not null)
        {
            foreach (var (k, v) in d.Annotations)
            {
                p.Annotations[k] = v;
            }
        }

        return p;
    }

    public static Descriptor FromProto(OciDescriptor? p, string what)
    {
        if (p is null || !Digest.TryParse(p.Digest, out var digest))
        {
            throw new BackendException(FailureKind.Unknown, $"{what}: containerd returned a descriptor without a valid digest");
        }

        return new Descriptor(p.MediaType, digest, p.Size)
        {
            Annotations = p.Annotations.Count == 0 ? null : new Dictionary<string, string>(p.Annotations, StringComparer.Ordinal),
        };
    }
}
