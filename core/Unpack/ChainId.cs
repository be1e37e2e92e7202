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
            chain[i] = Next(i == 0 ? null : chain[i - 1], diffIds[i]);
        }

        return chain;
    }

    /// <summary>The chain ID of <paramref name="diffId"/> applied on <paramref name="parent"/> (null: the first layer).</summary>
    public static Digest Next(Digest? parent, Digest diffId) =>
        parent is { } p ? Digest.FromString(p.Value + " " + diffId.Value) : diffId;
}
