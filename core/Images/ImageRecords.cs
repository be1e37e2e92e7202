using Imageimportd.Errors;
using Imageimportd.Oci;

namespace Imageimportd.Images;

/// <summary>
/// The one owner of image records: creating and re-pointing them (<see cref="PutAsync"/>), labelling a record someone
/// else made (<see cref="AddLabelsAsync"/>), and pinning: which labels pin an image, whose pin it is, and removing it.
/// Used by the importer (new and re-pointed records), the pull-list runner and the watch daemon (re-pinning at start,
/// unpinning what no file supplies any more). Contract:
/// <list type="bullet">
/// <item>Pinning sets <c>io.cri-containerd.pinned=pinned</c> and, only when this call set the pin,
/// <c>io.imageimportd.pinned=true</c>: an image someone else pinned is left exactly as it is.</item>
/// <item>Unpinning removes both labels, and only from an image carrying <c>io.imageimportd.pinned=true</c>.</item>
/// <item>Writes only what is missing; an image already as wanted costs no write.</item>
/// <item>The source label (<c>io.imageimportd.source</c>) is written with a target; when several files supply the
/// same image, the first keeps it, so re-scanning them costs no writes.</item>
/// </list>
/// </summary>
public sealed class ImageRecords(IImageStore images)
{
    /// <summary>containerd's filter for the images this daemon pinned.</summary>
    public static readonly string OursFilter = $"labels.\"{ImageLabels.Pinned}\"=={ImageLabels.PinnedValue}";

    /// <summary>
    /// The labels a record with <paramref name="existing"/> labels (null: a new record) needs to be pinned; empty when it
    /// is pinned already, by anyone.
    /// </summary>
    public static IReadOnlyDictionary<string, string> LabelsToPin(IReadOnlyDictionary<string, string>? existing)
    {
        if (existing is not null && IsPinned(existing))
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }

        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ImageLabels.CriPinned] = ImageLabels.CriPinnedValue,
            [ImageLabels.Pinned] = ImageLabels.PinnedValue,
        };
    }

    public static bool IsPinned(IReadOnlyDictionary<string, string> labels) =>
        labels.TryGetValue(ImageLabels.CriPinned, out var pin) && pin == ImageLabels.CriPinnedValue;

    /// <summary>True when this daemon set the image's pin (and may therefore remove it).</summary>
    public static bool IsPinnedByUs(IReadOnlyDictionary<string, string> labels) =>
        labels.TryGetValue(ImageLabels.Pinned, out var ours) && ours == ImageLabels.PinnedValue;

    /// <summary>Pins <paramref name="image"/> unless it is pinned already; true when it wrote.</summary>
    public async Task<bool> PinAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        var missing = LabelsToPin(image.Labels);
        if (missing.Count == 0)
        {
            return false;
        }

        var labels = new Dictionary<string, string>(image.Labels, StringComparer.Ordinal);
        foreach (var (key, value) in missing)
        {
            labels[key] = value;
        }

        await images.UpdateAsync(image with { Labels = labels }, [.. missing.Keys.Select(k => "labels." + k)], cancellationToken);
        return true;
    }

    /// <summary>Removes this daemon's pin from <paramref name="image"/>; false (no write) when the pin is not ours.</summary>
    public async Task<bool> UnpinAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        if (!IsPinnedByUs(image.Labels))
        {
            return false;
        }

        // A listed label path that the record lacks is removed: the mask names both, the labels carry neither.
        var labels = image.Labels.Where(l => l.Key is not (ImageLabels.CriPinned or ImageLabels.Pinned))
            .ToDictionary(l => l.Key, l => l.Value, StringComparer.Ordinal);
        await images.UpdateAsync(image with { Labels = labels }, ["labels." + ImageLabels.CriPinned, "labels." + ImageLabels.Pinned], cancellationToken);
        return true;
    }

    /// <summary>One image record; null when no image has that name.</summary>
    public ValueTask<ImageRecord?> GetAsync(string name, CancellationToken cancellationToken) => images.GetAsync(name, cancellationToken);

    /// <summary>Every image of the namespace, by name: one List call.</summary>
    public Task<IReadOnlyDictionary<string, ImageRecord>> ListAllAsync(CancellationToken cancellationToken) =>
        ListByNameAsync([], cancellationToken);

    /// <summary>The images this daemon pinned, by name: one List call, whatever the number of files.</summary>
    public Task<IReadOnlyDictionary<string, ImageRecord>> ListOursAsync(CancellationToken cancellationToken) =>
        ListByNameAsync([OursFilter], cancellationToken);

    private async Task<IReadOnlyDictionary<string, ImageRecord>> ListByNameAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken)
    {
        var list = await images.ListAsync(filters, cancellationToken);
        return list.ToDictionary(i => i.Name, StringComparer.Ordinal);
    }

    /// <summary>
    /// Makes <paramref name="name"/> point at <paramref name="target"/>, labelled with its <paramref name="source"/> file
    /// and, when <paramref name="pin"/>, pinned (an image someone else pinned keeps its pin as it is, never marked as
    /// ours): creates the record, or re-points an existing name; writes nothing when it is already as wanted. Returns
    /// what changed, and the target a re-pointed name had.
    /// </summary>
    public async Task<(ImageChange Change, Digest? Previous)> PutAsync(string name, Descriptor target, string source, bool pin, CancellationToken cancellationToken)
    {
        var existing = await images.GetAsync(name, cancellationToken);
        if (existing is null)
        {
            try
            {
                await images.CreateAsync(new ImageRecord(name, target, Wanted(null)), cancellationToken);
                return (ImageChange.Created, null);
            }
            catch (BackendException ex) when (ex.Kind == FailureKind.AlreadyExists)
            {
                existing = await images.GetAsync(name, cancellationToken);
                if (existing is null)
                {
                    throw;
                }
            }
        }

        var labels = Wanted(existing.Labels);
        var sameTarget = existing.Target.Digest == target.Digest && existing.Target.MediaType == target.MediaType;
        // Only a missing pin is worth a write on its own; the source label of a same-target record stays the first file's.
        var missingLabels = labels
            .Where(l => (!sameTarget || l.Key != ImageLabels.Source || !existing.Labels.ContainsKey(ImageLabels.Source))
                && (!existing.Labels.TryGetValue(l.Key, out var v) || v != l.Value))
            .Select(l => "labels." + l.Key).ToList();
        if (sameTarget && missingLabels.Count == 0)
        {
            return (ImageChange.Unchanged, null);
        }

        var fields = new List<string>(missingLabels);
        if (!sameTarget)
        {
            fields.Add("target");
        }

        await images.UpdateAsync(new ImageRecord(name, target, labels), fields, cancellationToken);
        return sameTarget ? (ImageChange.Relabeled, null) : (ImageChange.Repointed, existing.Target.Digest);

        Dictionary<string, string> Wanted(IReadOnlyDictionary<string, string>? current)
        {
            var wanted = new Dictionary<string, string>(StringComparer.Ordinal) { [ImageLabels.Source] = source };
            if (pin)
            {
                foreach (var (key, value) in LabelsToPin(current))
                {
                    wanted[key] = value;
                }
            }

            return wanted;
        }
    }

    /// <summary>
    /// Adds to a record made by someone else (a CRI pull) the source label, unless it has one, and, when
    /// <paramref name="pin"/>, the pin labels; true when it wrote.
    /// </summary>
    public async Task<bool> AddLabelsAsync(ImageRecord record, string source, bool pin, CancellationToken cancellationToken)
    {
        var missing = new List<KeyValuePair<string, string>>();
        if (pin)
        {
            // An image pinned already (by CRI, by someone else) is left as it is.
            missing.AddRange(LabelsToPin(record.Labels));
        }

        if (!record.Labels.ContainsKey(ImageLabels.Source))
        {
            missing.Add(new(ImageLabels.Source, source));
        }

        if (missing.Count == 0)
        {
            return false;
        }

        // The mask limits the update to the listed labels; the full set is sent so the record reads as intended too.
        var labels = new Dictionary<string, string>(record.Labels, StringComparer.Ordinal);
        foreach (var (key, value) in missing)
        {
            labels[key] = value;
        }

        await images.UpdateAsync(record with { Labels = labels }, missing.ConvertAll(l => "labels." + l.Key), cancellationToken);
        return true;
    }
}
