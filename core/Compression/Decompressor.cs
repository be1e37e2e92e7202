using System.IO.Compression;

namespace Imageimportd.Compression;

// Temporary stand-in until the decompression stage lands: gzip and plain only.
public static class Decompressor
{
    public static CompressionKind Detect(ReadOnlySpan<byte> header) =>
        header.Length >= 2 && header[0] == 0x1f && header[1] == 0x8b ? CompressionKind.Gzip : CompressionKind.None;

    public static async ValueTask<Stream> OpenAsync(Stream input, DecompressionOptions options, CancellationToken cancellationToken)
    {
        var buffered = new BufferedStream(input, 1 << 20);
        var header = new byte[6];
        var n = await buffered.ReadAtLeastAsync(header, header.Length, throwOnEndOfStream: false, cancellationToken);
        buffered.Seek(-n, SeekOrigin.Current);
        return Detect(header.AsSpan(0, n)) == CompressionKind.Gzip ? new GZipStream(buffered, CompressionMode.Decompress) : buffered;
    }
}
