namespace Imageimportd.Images;

/// <summary>Labels imageimportd puts on the images it imports.</summary>
public static class ImageLabels
{
    /// <summary>CRI's pin: kubelet's image GC never removes a pinned image.</summary>
    public const string CriPinned = "io.cri-containerd.pinned";
    public const string CriPinnedValue = "pinned";

    /// <summary>The archive (absolute path) an image was imported from.</summary>
    public const string Source = "io.imageimportd.source";

    public const string ContainerdImageName = "io.containerd.image.name";
    public const string OciRefName = "org.opencontainers.image.ref.name";
}
