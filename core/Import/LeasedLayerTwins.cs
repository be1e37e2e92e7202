using Imageimportd.Content;
using Imageimportd.Leases;
using Imageimportd.Oci;

namespace Imageimportd.Import;

/// <summary>Finds a layer's twins with one filtered content List and holds them with the import's lease.</summary>
public sealed class LeasedLayerTwins(IContentInfoStore content, ILeaseManager leases, string lease) : ILayerTwins
{
    public async ValueTask<bool> HoldAsync(Digest layer, CancellationToken cancellationToken)
    {
        var twins = new List<Digest>();
        await foreach (var info in content.ListAsync([$"labels.\"{ContentLabels.Uncompressed}\"=={layer}"], cancellationToken))
        {
            if (info.Digest != layer)
            {
                twins.Add(info.Digest);
            }
        }

        if (twins.Count == 0)
        {
            return false;
        }

        foreach (var twin in twins)
        {
            await leases.AddContentAsync(lease, twin, cancellationToken);
        }

        // Held now; a twin collected before that is gone for good, and then the layer must be sent after all.
        foreach (var twin in twins)
        {
            if (await content.InfoAsync(twin, cancellationToken) is null)
            {
                return false;
            }
        }

        return true;
    }
}
