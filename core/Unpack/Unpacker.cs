using System.Security.Cryptography;
using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Oci;

namespace Imageimportd.Unpack;

/// <summary>
/// Applies an image's layers into a snapshotter by chain ID, as containerd's own unpacker does: Stat, else Prepare on the
/// parent chain, Diff.Apply, check the diff ID, Commit. Then it sets the labels that unpacker sets — the uncompressed
/// digest on each applied layer blob and the snapshot GC reference on the config — so kubelet starts the first pod
/// without unpacking, and nothing is collected once the import lease ends.
/// </summary>
/// <para>One instance serves one import: it remembers which layer blobs it labelled, so a chain shared by two images is
/// labelled on the blob of the first, as containerd's unpacker would.</para>
public sealed class Unpacker(ISnapshotter snapshotter, IDiffApplier differ, IContentInfoStore content)
{
    // A random key colliding twice in a row means something else is wrong; say so instead of spinning.
    private const int PrepareAttempts = 5;

    private readonly HashSet<Digest> _labelled = [];

    /// <summary>True when the snapshot for this chain ID is already committed.</summary>
    public ValueTask<bool> ExistsAsync(Digest chainId, CancellationToken cancellationToken) =>
        snapshotter.ExistsAsync(chainId.Value, cancellationToken);

    /// <summary>Returns the number of layers applied (0 when every snapshot already existed).</summary>
    public Task<int> UnpackAsync(ResolvedManifest image, CancellationToken cancellationToken) =>
        UnpackAsync(image, null, cancellationToken);

    /// <summary>
    /// Returns the number of layers applied (0 when every snapshot already existed). A chain in
    /// <paramref name="appliedEarlier"/> was committed earlier in this import (by <see cref="UnpackAhead"/>): its layer
    /// blob is labelled as if applied now, once, so the labels are those of a plain unpack (one label per applied
    /// chain, on the blob of the first image that needs it) whichever stage did the work.
    /// </summary>
    public async Task<int> UnpackAsync(ResolvedManifest image, IReadOnlySet<Digest>? appliedEarlier, CancellationToken cancellationToken)
    {
        var diffIds = image.Config.DiffIds;
        var layers = image.Manifest.Layers.Where(l => MediaTypes.IsLayer(l.MediaType)).ToList();
        if (diffIds.Count != layers.Count)
        {
            throw new InvalidDataException($"image {image.Descriptor.Digest}: config lists {diffIds.Count} diff IDs for {layers.Count} layers");
        }

        var chain = ChainId.Chain(diffIds);
        var applied = 0;
        for (var i = 0; i < layers.Count; i++)
        {
            if (await snapshotter.ExistsAsync(chain[i].Value, cancellationToken))
            {
                if (appliedEarlier?.Contains(chain[i]) == true && _labelled.Add(chain[i]))
                {
                    await LabelUncompressedAsync(layers[i], diffIds[i], cancellationToken);
                }

                continue;
            }

            await ApplyAsync(layers[i], diffIds[i], chain[i], i == 0 ? null : chain[i - 1], cancellationToken);
            _labelled.Add(chain[i]);
            await LabelUncompressedAsync(layers[i], diffIds[i], cancellationToken);
            applied++;
        }

        if (chain.Count > 0)
        {
            await content.UpdateLabelsAsync(image.Manifest.Config.Digest, new Dictionary<string, string>
            {
                [ContentLabels.GcRefSnapshotPrefix + snapshotter.Name] = chain[^1].Value,
            }, cancellationToken);
        }

        return applied;
    }

    /// <summary>
    /// Applies one layer onto the committed snapshot <paramref name="parent"/> (null for the first layer) and commits it
    /// as <paramref name="chainId"/>. Fails with <see cref="InvalidDataException"/> when the applied diff is not
    /// <paramref name="diffId"/>, leaving no snapshot. Labels nothing: <see cref="UnpackAsync"/> labels the blob the
    /// image names, as containerd's unpacker would.
    /// </summary>
    public Task ApplyLayerAsync(Descriptor layer, Digest diffId, Digest chainId, Digest? parent, CancellationToken cancellationToken) =>
        ApplyAsync(layer, diffId, chainId, parent, cancellationToken);

    private ValueTask LabelUncompressedAsync(Descriptor layer, Digest diffId, CancellationToken cancellationToken) =>
        content.UpdateLabelsAsync(layer.Digest, new Dictionary<string, string> { [ContentLabels.Uncompressed] = diffId.Value }, cancellationToken);

    /// <summary>
    /// Prepares an active snapshot on <paramref name="parent"/> (null for the first layer) that is to become
    /// <paramref name="chainId"/>. A key collision is retried with another random key, a few times.
    /// </summary>
    public async Task<PreparedSnapshot> PrepareAsync(Digest chainId, Digest? parent, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var key = $"extract-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))} {chainId}";
            try
            {
                return new PreparedSnapshot(snapshotter, key, chainId, await snapshotter.PrepareAsync(key, parent?.Value, cancellationToken));
            }
            catch (BackendException ex) when (ex.Kind == FailureKind.AlreadyExists && attempt < PrepareAttempts)
            {
                // Key collision: try another.
            }
        }
    }

    private async Task ApplyAsync(Descriptor layer, Digest diffId, Digest chainId, Digest? parent, CancellationToken cancellationToken)
    {
        await using var snapshot = await PrepareAsync(chainId, parent, cancellationToken);
        var diff = await differ.ApplyAsync(layer, snapshot.Mounts, cancellationToken);
        if (diff.Digest != diffId)
        {
            throw new InvalidDataException($"layer {layer.Digest}: applied diff is {diff.Digest}, the config says {diffId}");
        }

        await snapshot.CommitAsync(cancellationToken);
    }
}
