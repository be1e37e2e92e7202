namespace Imageimportd.Compression;

/// <summary>Helpers for <see cref="CompressionKind"/>.</summary>
public static class CompressionKindExtensions
{
    /// <summary>The name used in logs and error messages: the name of the command-line tool for each format.</summary>
    public static string DisplayName(this CompressionKind kind) => kind switch
    {
        CompressionKind.None => "uncompressed",
        CompressionKind.Gzip => "gzip",
        CompressionKind.Zstd => "zstd",
        CompressionKind.Bzip2 => "bzip2",
        CompressionKind.Lz4 => "lz4",
        CompressionKind.Xz => "xz",
        _ => kind.ToString(),
    };
}
