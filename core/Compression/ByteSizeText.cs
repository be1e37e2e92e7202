using System.Globalization;

namespace Imageimportd.Compression;

/// <summary>Formats byte counts for error messages ("2 GiB", "1.5 MiB"), so limits read the way zstd and xz print them.</summary>
internal static class ByteSizeText
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

    public static string Format(long bytes)
    {
        if (bytes < 1024)
        {
            return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        }

        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return value.ToString(value >= 100 ? "0" : "0.##", CultureInfo.InvariantCulture) + " " + Units[unit];
    }
}
