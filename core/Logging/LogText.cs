using System.Globalization;
using System.Text;

namespace Imageimportd.Logging;

/// <summary>
/// Makes hostile text (file names, archive entry names, image references) safe to put in a log line: control
/// characters, line and paragraph separators and backslashes are escaped, so a name cannot end a line and forge
/// the next one. Bytes of a name that is not UTF-8 (kept as U+DC80–U+DCFF, see <c>NativePath</c>) show as <c>\xNN</c>.
/// </summary>
public static class LogText
{
    public static bool NeedsEscape(string text)
    {
        foreach (var c in text)
        {
            if (IsSpecial(c))
            {
                return true;
            }
        }

        return false;
    }

    public static string Escape(string text)
    {
        if (!NeedsEscape(text))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 16);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                sb.Append(c).Append(text[++i]);
                continue;
            }

            if (!IsSpecial(c))
            {
                sb.Append(c);
                continue;
            }

            _ = c switch
            {
                '\\' => sb.Append(@"\\"),
                '\n' => sb.Append(@"\n"),
                '\r' => sb.Append(@"\r"),
                '\t' => sb.Append(@"\t"),
                >= '\uDC80' and <= '\uDCFF' => sb.Append(@"\x").Append(((int)c - 0xDC00).ToString("x2", CultureInfo.InvariantCulture)),
                < '\u0100' => sb.Append(@"\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture)),
                _ => sb.Append(@"\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
            };
        }

        return sb.ToString();
    }

    private static bool IsSpecial(char c) =>
        c < ' ' || c == '\\' || c is >= '\u007F' and <= '\u009F' || c is '\u2028' or '\u2029' || char.IsSurrogate(c);
}
