using System.Diagnostics.CodeAnalysis;
using System.IO.Compression;
using System.Runtime.CompilerServices;

namespace Imageimportd.Compression;

/// <summary>
/// Opens gzip with the runtime's zlib. By default <see cref="GZipStream"/> ends a truncated input silently (a short
/// read, measured on .NET 10) and only throws when the runtime switch <c>System.IO.Compression.UseStrictValidation</c>
/// is on. The runtime reads the switch once per process, the first time anything decompresses, so this turns it on as
/// soon as this assembly loads (unless the host decided otherwise, e.g. in runtimeconfig.json), checks once that it took
/// effect, and falls back to <see cref="GzipEndCheckStream"/> if it did not.
/// </summary>
internal static class GzipSupport
{
    public const string StrictValidationSwitch = "System.IO.Compression.UseStrictValidation";

    private static readonly Lazy<bool> StrictValidation = new(ProbeStrictValidation);

    /// <summary>True when <see cref="GZipStream"/> reports truncated input in this process.</summary>
    public static bool IsStrict => StrictValidation.Value;

    public static Stream Open(BufferedInput input)
    {
        var gzip = new GZipStream(input, CompressionMode.Decompress, leaveOpen: true);
        return IsStrict ? gzip : new GzipEndCheckStream(gzip, input);
    }

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "The switch must be set before the first decompression anywhere in the process, and loading this assembly is the earliest point it controls.")]
    internal static void RequestStrictValidation()
    {
        if (!AppContext.TryGetSwitch(StrictValidationSwitch, out _))
        {
            AppContext.SetSwitch(StrictValidationSwitch, true);
        }
    }

    private static bool ProbeStrictValidation()
    {
        RequestStrictValidation();
        using var compressed = new MemoryStream();
        using (var writer = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            writer.Write("a probe for truncation checks"u8);
        }

        var truncated = compressed.ToArray().AsMemory(0, (int)compressed.Length - 1);
        try
        {
            using var reader = new GZipStream(new MemoryStream(truncated.ToArray()), CompressionMode.Decompress);
            reader.CopyTo(Stream.Null);
            return false;
        }
        catch (InvalidDataException)
        {
            return true;
        }
    }
}
