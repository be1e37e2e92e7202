namespace Imageimportd.Compression;

/// <summary>Limits for decoders fed with untrusted input.</summary>
public sealed record DecompressionOptions
{
    /// <summary>
    /// Largest zstd window (and xz dictionary) accepted; 128 MiB by default. Frames asking for more are refused with a
    /// clear error, so a hostile frame cannot make the decoder allocate unbounded memory. <c>zstd --long=27</c>
    /// (128 MiB) and <c>xz -9</c> (64 MiB) decode with the default.
    /// </summary>
    public long MaxWindowBytes { get; init; } = 128L << 20;

    /// <summary>The default limits.</summary>
    public static DecompressionOptions Default { get; } = new();
}
