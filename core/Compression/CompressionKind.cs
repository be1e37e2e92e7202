namespace Imageimportd.Compression;

/// <summary>The compression formats an image tarball (or a layer inside it) may arrive in.</summary>
public enum CompressionKind
{
    /// <summary>Not compressed, or not a format this layer recognises; the caller decides what to do with it.</summary>
    None,

    /// <summary>gzip (RFC 1952), including concatenated members.</summary>
    Gzip,

    /// <summary>Zstandard frames, including skippable frames.</summary>
    Zstd,

    /// <summary>bzip2, including concatenated streams.</summary>
    Bzip2,

    /// <summary>LZ4 frame format, and the legacy format of <c>lz4 -l</c>.</summary>
    Lz4,

    /// <summary>The .xz container with the LZMA2 filter.</summary>
    Xz,
}
