using Imageimportd.Compression;

namespace Imageimportd.Tests.Compression;

/// <summary>Reads inputs through the public API, the way the archive reader will.</summary>
internal static class Decoding
{
    public static async Task<DecodeResult> ReadAllAsync(byte[] compressed, DecompressionOptions? options = null, bool useAsync = true)
    {
        await using var stream = await Decompressor.OpenAsync(new MemoryStream(compressed), options ?? DecompressionOptions.Default, CancellationToken.None);
        using var output = new MemoryStream();
        var buffer = new byte[81920];
        int n;
        while ((n = useAsync ? await stream.ReadAsync(buffer) : stream.Read(buffer)) > 0)
        {
            output.Write(buffer, 0, n);
        }

        return new DecodeResult(stream.Kind, output.ToArray(), stream.CompressedBytesRead);
    }

    /// <summary>Like <see cref="ReadAllAsync"/>, but returns what was thrown (or null) so tests can inspect it.</summary>
    public static async Task<InvalidDataException?> FailureAsync(byte[] compressed, DecompressionOptions? options = null, bool useAsync = true)
    {
        try
        {
            await ReadAllAsync(compressed, options, useAsync);
            return null;
        }
        catch (InvalidDataException e)
        {
            return e;
        }
    }
}
