using Imageimportd.Compression;
using Imageimportd.Content;
using Imageimportd.Oci;

namespace Imageimportd.Unpack.Direct;

/// <summary>
/// Applies a layer on the client: reads the blob from the content store, decompresses it, writes it into the
/// snapshot's directory with <see cref="LayerApplier"/>, and returns the uncompressed diff (sha256 and size of every
/// byte decompressed, trailing padding included, as containerd's differ counts it). The caller checks the diff ID
/// and commits; on a throw it removes the snapshot. The mounts must give a directory (<see cref="LayerTarget"/>).
/// </summary>
public sealed class DirectDiffApplier(IContentProvider content, DecompressionOptions decompression) : IDiffApplier
{
    public async ValueTask<Descriptor> ApplyAsync(Descriptor layer, IReadOnlyList<Mount> mounts, CancellationToken cancellationToken)
    {
        var target = LayerTarget.FromMounts(mounts, out var reason)
            ?? throw new InvalidOperationException($"layer {layer.Digest}: cannot apply directly onto {reason}");
        await using var blob = await Decompressor.OpenAsync(new ContentReadStream(content, layer, cancellationToken), decompression, cancellationToken);
        await using var hashing = new HashingReadStream(blob);
        try
        {
            await new LayerApplier(target).ApplyAsync(hashing, cancellationToken);
        }
        catch (InvalidDataException ex)
        {
            throw new InvalidDataException($"layer {layer.Digest}: {ex.Message}", ex);
        }

        // Whatever follows the end-of-archive blocks is part of the diff, as it is for containerd.
        await hashing.CopyToAsync(Stream.Null, cancellationToken);
        return new Descriptor(MediaTypes.OciLayer, hashing.Digest, hashing.BytesRead);
    }
}
