namespace Imageimportd.Images;

/// <summary>Labels imageimportd puts on the images it imports.</summary>
public static class ImageLabels
{
    /// <summary>CRI's pin: kubelet's image GC never removes a pinned image.</summary>
    public const string CriPinned = "io.cri-containerd.pinned";
    public const string CriPinnedValue = "pinned";

    /// <summary>
    /// Set beside <see cref="CriPinned"/> when imageimportd set the pin, so it only ever removes pins of its own (a system
    /// image pinned by someone else stays pinned). See <see cref="ImageRecords"/>.
    /// </summary>
    public const string Pinned = "io.imageimportd.pinned";
    public const string PinnedValue = "true";

    /// <summary>The archive (absolute path) an image was imported from.</summary>
    public const string Source = "io.imageimportd.source";

    public const string ContainerdImageName = "io.containerd.image.name";
    public const string OciRefName = "org.opencontainers.image.ref.name";
}
