namespace Imageimportd.Content;

/// <summary>Label keys containerd's garbage collector and unpacker read.</summary>
public static class ContentLabels
{
    public const string GcRefContentPrefix = "containerd.io/gc.ref.content.";
    public const string GcRefConfig = "containerd.io/gc.ref.content.config";
    public const string GcRefManifestPrefix = "containerd.io/gc.ref.content.m.";
    public const string GcRefLayerPrefix = "containerd.io/gc.ref.content.l.";
    public const string GcRefSnapshotPrefix = "containerd.io/gc.ref.snapshot.";
    public const string GcExpire = "containerd.io/gc.expire";
    public const string Uncompressed = "containerd.io/uncompressed";
}
