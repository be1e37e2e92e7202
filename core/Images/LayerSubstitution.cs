using System.Buffers;
using System.Security.Cryptography;
using Imageimportd.Archive;
using Imageimportd.Content;
using Imageimportd.Leases;
using Imageimportd.Oci;

namespace Imageimportd.Images;

/// <summary>
/// The one owner of layer substitution, containerd's docker-archive quirk: a layer the store holds a compressed
/// <em>substitute</em> for (a blob labelled <c>containerd.io/uncompressed</c> = the layer's digest, left by a pull or by
/// unpacking an OCI import) is named by that substitute in the generated manifest (<see cref="SubstituteAsync"/>), so
/// the layer itself need not be sent at all.
/// <para>
/// As an <see cref="IBlobSink"/> decorator in front of the write-content stage, it decides that last part: an entry of at
/// least <c>minBytes</c> named by a digest hint (<c>&lt;sha256&gt;.tar</c>) that the store lacks, but has substitutes for,
/// gets its substitutes held by the import's lease (so garbage collection cannot take them before the image naming them
/// is written) and is only hashed. It comes back <see cref="BlobState.Substituted"/>, or
/// <see cref="BlobState.HintMismatch"/> when the bytes are not what the name said (then the import reads the archive
/// again without this decorator). Everything else goes to the stage behind it unchanged.
/// </para>
/// </summary>
public sealed class LayerSubstitution(IBlobSink inner, IContentStore content, ILeaseManager leases, string lease, int minBytes) : IBlobSink
{
    private const int HeaderBytes = 16;

    public async ValueTask<StoredBlob> IngestAsync(string path, long size, Digest? claimed, Digest? hint, Stream data, CancellationToken cancellationToken)
    {
        if (claimed is null && hint is { } named && size >= minBytes && await HoldSubstitutesAsync(named, cancellationToken))
        {
            return await HashOnlyAsync(path, size, named, data, cancellationToken);
        }

        return await inner.IngestAsync(path, size, claimed, hint, data, cancellationToken);
    }

    public ValueTask<StoredBlob> IngestAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken) =>
        inner.IngestAsync(path, bytes, cancellationToken);

    public ValueTask CompleteAsync(CancellationToken cancellationToken) => inner.CompleteAsync(cancellationToken);

    /// <summary>
    /// The manifest's side, as containerd's importer does it: for each layer (an empty media type until decided) whose
    /// digest a stored blob's <c>containerd.io/uncompressed</c> label names, that blob takes its place, typed by its magic
    /// bytes. One filtered List for all layers; when several blobs match, containerd's order (by digest, last wins).
    /// </summary>
    public static async Task SubstituteAsync(IContentStore store, Descriptor[] layers, CancellationToken cancellationToken)
    {
        if (layers.Length == 0)
        {
            return;
        }

        // As in containerd, a digest maps to the last layer that has it.
        var byDigest = new Dictionary<Digest, int>();
        for (var i = 0; i < layers.Length; i++)
        {
            byDigest[layers[i].Digest] = i;
        }

        var filters = layers.Select(l => Filter(l.Digest)).Distinct().ToArray();
        var matches = new List<ContentInfo>();
        await foreach (var info in store.ListAsync(filters, cancellationToken))
        {
            matches.Add(info);
        }

        foreach (var info in matches.OrderBy(m => m.Digest))
        {
            if (info.Labels.TryGetValue(ContentLabels.Uncompressed, out var value) && Digest.TryParse(value, out var uncompressed)
                && byDigest.TryGetValue(uncompressed, out var i))
            {
                var header = info.Size == 0 ? [] : await store.ReadAsync(info.Digest, 0, 10, cancellationToken);
                var mediaType = info.Size >= 10 && MediaTypes.LooksCompressed(header) ? MediaTypes.DockerLayerGzip : MediaTypes.DockerLayer;
                layers[i] = new Descriptor(mediaType, info.Digest, info.Size);
            }
        }
    }

    private static string Filter(Digest layer) => $"labels.\"{ContentLabels.Uncompressed}\"=={layer}";

    /// <summary>
    /// True when the store lacks <paramref name="layer"/>, has substitutes for it, and every substitute found is now held
    /// by the lease (checked after holding: one collected before that is gone for good, and then the layer is sent).
    /// </summary>
    private async ValueTask<bool> HoldSubstitutesAsync(Digest layer, CancellationToken cancellationToken)
    {
        var substitutes = new List<Digest>();
        await foreach (var info in content.ListAsync([Filter(layer)], cancellationToken))
        {
            if (info.Digest != layer)
            {
                substitutes.Add(info.Digest);
            }
        }

        if (substitutes.Count == 0 || await content.InfoAsync(layer, cancellationToken) is not null)
        {
            // No substitute, or the layer itself is there: the write-content stage skips sending it anyway.
            return false;
        }

        foreach (var substitute in substitutes)
        {
            await leases.AddContentAsync(lease, substitute, cancellationToken);
        }

        foreach (var substitute in substitutes)
        {
            if (await content.InfoAsync(substitute, cancellationToken) is null)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads and hashes a layer that is not sent because the store has a substitute for it.</summary>
    private async ValueTask<StoredBlob> HashOnlyAsync(string path, long size, Digest named, Stream data, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(minBytes, Math.Max(size, 1)));
        byte[]? header = null;
        try
        {
            long done = 0;
            while (done < size)
            {
                var want = (int)Math.Min(buffer.Length, size - done);
                var n = await data.ReadAtLeastAsync(buffer.AsMemory(0, want), want, throwOnEndOfStream: false, cancellationToken);
                if (n < want)
                {
                    throw new InvalidDataException($"truncated archive: {path} ends after {done + n} of {size} bytes");
                }

                header ??= buffer.AsSpan(0, Math.Min(HeaderBytes, n)).ToArray();
                hash.AppendData(buffer, 0, n);
                done += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        var actual = Digest.Sha256FromHash(hash.GetHashAndReset());
        return new StoredBlob(actual, size, header ?? [], null)
        {
            State = actual == named ? BlobState.Substituted : BlobState.HintMismatch,
        };
    }
}
