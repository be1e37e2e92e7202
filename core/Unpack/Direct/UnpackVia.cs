namespace Imageimportd.Unpack.Direct;

/// <summary>Who writes a layer into its snapshot (<c>--unpack-via</c>).</summary>
public enum UnpackVia
{
    /// <summary>containerd's Diff service reads the blob back from its store and applies it (the default for now).</summary>
    Diff,

    /// <summary>imageimportd reads the blob and writes the snapshot directory itself (<see cref="DirectDiffApplier"/>).</summary>
    Direct,

    /// <summary>Direct when the snapshot's directory is reachable from this process as root, else Diff.</summary>
    Auto,
}
