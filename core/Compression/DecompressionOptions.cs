namespace Imageimportd.Compression;

public sealed record DecompressionOptions
{
    public long MaxWindowBytes { get; init; } = 128L << 20;

    public static DecompressionOptions Default { get; } = new();
}
