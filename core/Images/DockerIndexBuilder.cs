using Imageimportd.Archive;
using Imageimportd.Content;
using Imageimportd.Oci;
using Imageimportd.References;

namespace Imageimportd.Images;

/// <summary>
/// Builds, for a docker archive, the manifests and index that containerd's importer would write — the same bytes,
/// so the same image digests as <c>ctr images import</c>. That includes its quirk of pointing a layer at an already
/// stored compressed blob whose <c>containerd.io/uncompressed</c> label names the archive's uncompressed layer
/// (<see cref="LayerSubstitution"/>).
/// </summary>
public sealed class DockerIndexBuilder(IContentStore store)
{
    /// <summary>Writes the generated manifests and index through <paramref name="ingest"/> and returns the index descriptor.</summary>
    public async Task<Descriptor> BuildAsync(ArchiveContents archive, IBlobSink ingest, BlobJsonSource json, CancellationToken cancellationToken)
    {
        var manifests = new List<Descriptor>();
        foreach (var entry in archive.DockerManifests ?? [])
        {
            var configBlob = archive.Resolve(entry.Config) ?? throw new InvalidDataException($"image config \"{entry.Config}\" not found");
            var config = new Descriptor(MediaTypes.DockerConfig, configBlob.Digest, configBlob.Size);
            var layers = await ResolveLayersAsync(archive, entry.Layers, cancellationToken);

            var manifestBlob = await ingest.IngestAsync("manifest", GoJson.DockerManifest(config, layers), cancellationToken);
            json.Add(manifestBlob);
            var platform = ImageJson.ParseConfig(await json.ReadAsync(config, cancellationToken), $"config {entry.Config}").Platform;
            var manifest = new Descriptor(MediaTypes.DockerManifest, manifestBlob.Digest, manifestBlob.Size)
            {
                // containerd takes only OS and architecture from the config, then normalises.
                Platform = Platform.Normalize(new Platform(platform.Os, platform.Architecture)),
            };

            if (entry.RepoTags.Count == 0)
            {
                manifests.Add(manifest);
                continue;
            }

            foreach (var tag in entry.RepoTags)
            {
                if (!ImageReference.TryNormalize(tag, out var reference, out var error))
                {
                    throw new InvalidDataException($"normalize image ref \"{tag}\": {error}");
                }

                manifests.Add(manifest with
                {
                    Annotations = new Dictionary<string, string>(StringComparer.Ordinal)
                    {
                        [ImageLabels.ContainerdImageName] = reference.ToString(),
                        [ImageLabels.OciRefName] = reference.OciRefName,
                    },
                });
            }
        }

        var index = await ingest.IngestAsync("index", GoJson.Index(manifests), cancellationToken);
        json.Add(index);
        return new Descriptor(MediaTypes.OciIndex, index.Digest, index.Size);
    }

    private async Task<List<Descriptor>> ResolveLayersAsync(ArchiveContents archive, IReadOnlyList<string> files, CancellationToken cancellationToken)
    {
        var layers = new Descriptor[files.Count];
        var headers = new ReadOnlyMemory<byte>[files.Count];
        for (var i = 0; i < files.Count; i++)
        {
            var blob = archive.Resolve(files[i]) ?? throw new InvalidDataException($"layer \"{files[i]}\" not found");
            layers[i] = new Descriptor("", blob.Digest, blob.Size);
            headers[i] = blob.Header;
        }

        await LayerSubstitution.SubstituteAsync(store, layers, cancellationToken);
        for (var i = 0; i < layers.Length; i++)
        {
            if (layers[i].MediaType.Length > 0)
            {
                continue;
            }

            var header = headers[i];
            if (header.IsEmpty && layers[i].Size > 0)
            {
                header = await store.ReadAsync(layers[i].Digest, 0, 10, cancellationToken);
            }

            layers[i] = layers[i] with { MediaType = MediaTypes.LooksCompressed(header.Span) ? MediaTypes.DockerLayerGzip : MediaTypes.DockerLayer };
        }

        return [.. layers];
    }
}
