namespace Imageimportd.Logging;

/// <summary>
/// The NativeAOT build strips .NET's resource strings (<c>UseSystemResourceKeys</c>), so a framework exception's
/// message is a key such as <c>IO_EOF_ReadBeyondEOF</c> or <c>TarInvalidNumber</c>. These tell such keys apart from
/// messages with words in them, so only plain words reach a log line.
/// </summary>
public static class PlainText
{
    /// <summary><paramref name="message"/>, or <paramref name="fallback"/> when it is a stripped resource key.</summary>
    public static string Plain(string message, string fallback) => IsResourceKey(message) ? fallback : message;

    /// <summary>
    /// A stripped resource string: its head (up to the first comma, where arguments follow) is one word shaped like
    /// <c>Arg_OutOfMemoryException</c> or <c>TarInvalidNumber</c>; also gRPC's English "Call canceled by the client".
    /// </summary>
    public static bool IsResourceKey(string message)
    {
        if (string.IsNullOrWhiteSpace(message) || message.Contains("Call canceled by the client", StringComparison.Ordinal))
        {
            return true;
        }

        var head = message.Split(',', 2)[0].Trim();
        if (head.Length == 0 || head.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '_'))
        {
            return false;
        }

        return head.Contains('_', StringComparison.Ordinal) || (char.IsAsciiLetterUpper(head[0]) && head.Skip(1).Any(char.IsAsciiLetterUpper));
    }
}
