using Imageimportd.Content;
using Imageimportd.Oci;

namespace Imageimportd.Images;

/// <summary>
/// Walks from the root index down to configs and layers. It sets the GC reference labels containerd's
/// <c>SetChildrenLabels</c> sets (same keys, same numbering) on every index and manifest, so nothing is collected
/// once the import lease goes, and it decides which root entries are complete: a manifest whose config and layers
/// are all present, or an index with at least one such manifest. Blobs of other platforms may be absent.
/// </summary>
public sealed class ImportWalk(IContentInfoStore info, BlobJsonSource json, Platform host)
{
    private readonly Dictionary<Digest, bool> _present = [];
    private readonly Dictionary<Digest, Visit> _visited = [];

    /// <param name="inArchive">Digests the archive supplied (or the importer generated).</param>
    public async Task<WalkResult> RunAsync(Descriptor rootIndex, IReadOnlySet<Digest> inArchive, CancellationToken cancellationToken)
    {
        foreach (var digest in inArchive)
        {
            _present[digest] = true;
        }

        var index = ImageJson.ParseIndex(await json.ReadAsync(rootIndex, cancellationToken), "index.json");
        await LabelChildrenAsync(rootIndex.Digest, index.Manifests, cancellationToken);

        var entries = new List<WalkedImage>();
        foreach (var entry in index.Manifests)
        {
            var visit = await VisitAsync(entry, cancellationToken);
            entries.Add(new WalkedImage(entry, visit.Complete, visit.Host, visit.Missing, visit.Host is null ? visit.UnknownMediaType : null));
        }

        return new WalkResult(entries);
    }

    private async Task<Visit> VisitAsync(Descriptor d, CancellationToken cancellationToken)
    {
        if (_visited.TryGetValue(d.Digest, out var known))
        {
            return known;
        }

        Visit result;
        if (!await PresentAsync(d.Digest, cancellationToken))
        {
            result = new Visit(false, null, [d.Digest]);
        }
        else
        {
            var mediaType = d.MediaType;
            if (string.IsNullOrEmpty(mediaType))
            {
                // An index entry without a media type: let the document say what it is.
                mediaType = d.Size <= (4 << 20) ? ImageJson.PeekMediaType(await json.ReadAsync(d, cancellationToken)) ?? "" : "";
            }

            if (MediaTypes.IsManifest(mediaType))
            {
                result = await VisitManifestAsync(d, mediaType, cancellationToken);
            }
            else if (MediaTypes.IsIndex(mediaType))
            {
                result = await VisitIndexAsync(d, mediaType, cancellationToken);
            }
            else
            {
                // Not an image: kept (as containerd's importer keeps it) but never unpacked; the type is reported.
                result = new Visit(true, null, []) { UnknownMediaType = string.IsNullOrEmpty(mediaType) ? "(none)" : mediaType };
            }
        }

        _visited[d.Digest] = result;
        return result;
    }

    private async Task<Visit> VisitManifestAsync(Descriptor d, string mediaType, CancellationToken cancellationToken)
    {
        var bytes = await json.ReadAsync(d, cancellationToken);
        CheckDeclaredType(bytes, d, mediaType, isIndex: false);
        var manifest = ImageJson.ParseManifest(bytes, $"manifest {d.Digest}");
        var children = new List<Descriptor>(manifest.Layers.Count + 1) { manifest.Config };
        children.AddRange(manifest.Layers);
        await LabelChildrenAsync(d.Digest, children, cancellationToken);

        var missing = new List<Digest>();
        foreach (var child in children)
        {
            if (!await PresentAsync(child.Digest, cancellationToken))
            {
                missing.Add(child.Digest);
            }
        }

        if (missing.Count > 0)
        {
            return new Visit(false, null, missing);
        }

        ImageConfig? config = null;
        if (MediaTypes.IsConfig(manifest.Config.MediaType))
        {
            config = ImageJson.ParseConfig(await json.ReadAsync(manifest.Config, cancellationToken), $"config {manifest.Config.Digest}");
        }

        var platform = d.Platform ?? config?.Platform;
        var runsHere = platform is null || host.Runs(platform);
        return new Visit(true, runsHere && config is not null ? new ResolvedManifest(d, manifest, config) : null, []);
    }

    private async Task<Visit> VisitIndexAsync(Descriptor d, string mediaType, CancellationToken cancellationToken)
    {
        var bytes = await json.ReadAsync(d, cancellationToken);
        CheckDeclaredType(bytes, d, mediaType, isIndex: true);
        var index = ImageJson.ParseIndex(bytes, $"index {d.Digest}");
        await LabelChildrenAsync(d.Digest, index.Manifests, cancellationToken);

        var complete = false;
        ResolvedManifest? hostManifest = null;
        var best = -1;
        var missing = new List<Digest>();
        string? unknown = null;
        foreach (var child in index.Manifests)
        {
            var visit = await VisitAsync(child, cancellationToken);
            unknown ??= visit.UnknownMediaType;
            complete |= visit.Complete;
            missing.AddRange(visit.Missing);
            if (visit.Host is not null && (child.Platform is null || host.Runs(child.Platform)) && Preference(child.Platform) > best)
            {
                // As containerd's matcher orders them: the exact variant first, then the closest older one.
                hostManifest = visit.Host;
                best = Preference(child.Platform);
            }
        }

        return new Visit(complete, hostManifest, missing) { UnknownMediaType = unknown };
    }

    private int Preference(Platform? candidate)
    {
        if (candidate is null)
        {
            return 0;
        }

        var variant = Platform.Normalize(candidate).Variant;
        if (variant == Platform.Normalize(host).Variant)
        {
            return 100;
        }

        return variant is { Length: 2 } v && v[0] == 'v' && char.IsAsciiDigit(v[1]) ? 10 + (v[1] - '0') : 1;
    }

    /// <summary>containerd's validateMediaType: a manifest must not be an index document, nor the reverse.</summary>
    private static void CheckDeclaredType(byte[] bytes, Descriptor d, string mediaType, bool isIndex)
    {
        var declared = ImageJson.PeekMediaType(bytes);
        if (!string.IsNullOrEmpty(declared) && declared != mediaType && MediaTypes.IsIndex(declared) != isIndex)
        {
            throw new InvalidDataException($"{d.Digest}: descriptor says {mediaType} but the document is {declared}");
        }
    }

    private async ValueTask<bool> PresentAsync(Digest digest, CancellationToken cancellationToken)
    {
        if (!_present.TryGetValue(digest, out var present))
        {
            present = await info.InfoAsync(digest, cancellationToken) is not null;
            _present[digest] = present;
        }

        return present;
    }

    /// <summary>Keys as containerd's ChildGCLabels numbers them: config, m.N, l.N, and a bare N for anything else.</summary>
    internal static Dictionary<string, string> ChildLabels(IReadOnlyList<Descriptor> children)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var child in children)
        {
            var key = MediaTypes.IsConfig(child.MediaType) ? ContentLabels.GcRefConfig
                : MediaTypes.IsManifest(child.MediaType) ? ContentLabels.GcRefManifestPrefix
                : MediaTypes.IsLayer(child.MediaType) ? ContentLabels.GcRefLayerPrefix
                : ContentLabels.GcRefContentPrefix;
            counts.TryGetValue(key, out var n);
            counts[key] = n + 1;
            if (n > 0 || key.EndsWith('.'))
            {
                key += n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            labels[key] = child.Digest.Value;
        }

        return labels;
    }

    private async Task LabelChildrenAsync(Digest parent, IReadOnlyList<Descriptor> children, CancellationToken cancellationToken)
    {
        if (children.Count > 0)
        {
            await info.UpdateLabelsAsync(parent, ChildLabels(children), cancellationToken);
        }
    }

    private sealed record Visit(bool Complete, ResolvedManifest? Host, IReadOnlyList<Digest> Missing)
    {
        public string? UnknownMediaType { get; init; }
    }
}
