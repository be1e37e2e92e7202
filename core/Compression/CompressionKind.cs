namespace Imageimportd.Compression;

public enum CompressionKind
{
    None,
    Gzip,
    Zstd,
    Bzip2,
    Lz4,
    Xz,
}
