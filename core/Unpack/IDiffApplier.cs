using Imageimportd.Oci;

namespace Imageimportd.Unpack;

/// <summary>Applies a layer blob from the content store onto mounts; returns the descriptor of the uncompressed diff.</summary>
public interface IDiffApplier
{
    ValueTask<Descriptor> ApplyAsync(Descriptor layer, IReadOnlyList<Mount> mounts, CancellationToken cancellationToken);
}
