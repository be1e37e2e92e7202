namespace Imageimportd.Unpack.Direct;

/// <summary>What an OCI whiteout entry becomes in the target directory.</summary>
public enum WhiteoutStyle
{
    /// <summary>The target holds the lower layers' files too (bind mount): a whiteout deletes, an opaque marker empties.</summary>
    Remove,

    /// <summary>The target is an overlay upper directory: a 0/0 character device, or <c>trusted.overlay.opaque=y</c>.</summary>
    Overlay,
}
