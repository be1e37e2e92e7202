using Imageimportd.Oci;

namespace Imageimportd.Unpack;

/// <summary>OCI chain IDs: the first layer's diff ID, then sha256("parent diffID") for each layer after it.</summary>
public static class ChainId
{
    public static IReadOnlyList<Digest> Chain(IReadOnlyList<Digest> diffIds)
    {
        var chain = new Digest[diffIds.Count];
        for (var i = 0; i < diffIds.Count; i++)
        {
            chain[i] = i == 0 ? diffIds[0] : Digest.FromString(chain[i - 1].Value + " " + diffIds[i].Value);
        }

        return chain;
    }
}
