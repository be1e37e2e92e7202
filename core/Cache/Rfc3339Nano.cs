using System.Globalization;

namespace Imageimportd.Cache;

/// <summary>
/// RFC 3339 times with nanoseconds, as Go writes them (<c>time.RFC3339Nano</c>). <see cref="DateTimeOffset"/> stops
/// at 100 ns, so the fraction is carried separately, as whole nanoseconds since the Unix epoch.
/// </summary>
internal static class Rfc3339Nano
{
    private const long NanosPerSecond = 1_000_000_000;

    /// <summary>UTC, trailing zeros of the fraction trimmed, no fraction when it is zero: Go's own output.</summary>
    public static string Format(long unixNanoseconds)
    {
        var seconds = Math.DivRem(unixNanoseconds, NanosPerSecond, out var nanos);
        if (nanos < 0)
        {
            seconds--;
            nanos += NanosPerSecond;
        }

        var text = DateTimeOffset.FromUnixTimeSeconds(seconds).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        return nanos == 0
            ? text + "Z"
            : text + "." + nanos.ToString("D9", CultureInfo.InvariantCulture).TrimEnd('0') + "Z";
    }

    /// <summary>Parses <c>yyyy-MM-ddTHH:mm:ss[.fraction](Z|±hh:mm)</c>; a fraction beyond 9 digits is truncated.</summary>
    public static bool TryParse(string text, out long unixNanoseconds)
    {
        unixNanoseconds = 0;
        const int SecondsLength = 19;
        if (text.Length < SecondsLength + 1)
        {
            return false;
        }

        var rest = text.AsSpan(SecondsLength);
        long nanos = 0;
        if (rest[0] == '.')
        {
            var digits = 1;
            while (digits < rest.Length && char.IsAsciiDigit(rest[digits]))
            {
                digits++;
            }

            var fraction = rest[1..digits];
            if (fraction.IsEmpty)
            {
                return false;
            }

            var nine = fraction.Length >= 9 ? fraction[..9].ToString() : fraction.ToString().PadRight(9, '0');
            nanos = long.Parse(nine, NumberStyles.None, CultureInfo.InvariantCulture);
            rest = rest[digits..];
        }

        var zone = rest.ToString();
        if (zone is "z")
        {
            zone = "Z";
        }

        if (!DateTimeOffset.TryParseExact(text[..SecondsLength] + zone, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd't'HH:mm:ssK"],
                CultureInfo.InvariantCulture, DateTimeStyles.None, out var whole))
        {
            return false;
        }

        unixNanoseconds = (whole.ToUnixTimeSeconds() * NanosPerSecond) + nanos;
        return true;
    }
}
