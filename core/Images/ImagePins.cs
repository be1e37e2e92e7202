namespace Imageimportd.Images;

/// <summary>
/// The one owner of pinning: which labels pin an image, whose pin it is, and removing it. Used by the importer (new
/// and re-pointed records), the pull-list runner and the watch daemon (re-pinning at start, unpinning what no file
/// supplies any more). Contract:
/// <list type="bullet">
/// <item>Pinning sets <c>io.cri-containerd.pinned=pinned</c> and, only when this call set the pin,
/// <c>io.imageimportd.pinned=true</c>: an image someone else pinned is left exactly as it is.</item>
/// <item>Unpinning removes both labels, and only from an image carrying <c>io.imageimportd.pinned=true</c>.</item>
/// <item>Writes only what is missing; an image already as wanted costs no write.</item>
/// </list>
/// </summary>
public sealed class ImagePins(IImageStore images)
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

    /// <summary>The images this daemon pinned, by name: one List call, whatever the number of files.</summary>
    public async Task<IReadOnlyDictionary<string, ImageRecord>> ListOursAsync(CancellationToken cancellationToken)
    {
        var list = await images.ListAsync([OursFilter], cancellationToken);
        return list.ToDictionary(i => i.Name, StringComparer.Ordinal);
    }
}
