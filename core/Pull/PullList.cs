using System.Text;
using Imageimportd.References;

namespace Imageimportd.Pull;

/// <summary>
/// The <c>.txt</c> pull list format: one image reference per line; blank lines and <c>#</c> comments (a whole line,
/// or a <c>#</c> after whitespace) are ignored; surrounding whitespace is trimmed; LF, CRLF and CR line ends all work.
/// Each reference is normalised as containerd does (<see cref="ImageReference.TryNormalize"/>).
/// </summary>
public static class PullList
{
    /// <summary>Larger files are refused whole (one error, no entries): a pull list is a short hand-written file.</summary>
    public const int MaxFileBytes = 1 << 20;

    /// <summary>Longer lines are refused; no valid reference comes close (names are at most 255 characters).</summary>
    public const int MaxLineLength = 4096;

    /// <summary>How much of an offending line an error carries.</summary>
    public const int MaxErrorLineLength = 200;

    /// <summary>
    /// Parses a pull list's text. Never throws for bad content: oversized files and lines, lines with more than one
    /// word and invalid references become <see cref="PullListError"/>s naming <paramref name="fileName"/> and the
    /// 1-based line number. A reference listed twice (also in two spellings, <c>nginx</c> and
    /// <c>docker.io/library/nginx:latest</c>) is kept once, with its first line number.
    /// </summary>
    public static PullListParse Parse(string fileName, string text)
    {
        // Every char is at least one UTF-8 byte, so the cheap length test settles most oversized inputs.
        if (text.Length > MaxFileBytes || Encoding.UTF8.GetByteCount(text) > MaxFileBytes)
        {
            return TooLarge(fileName);
        }

        var entries = new List<PullEntry>();
        var errors = new List<PullListError>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        using var reader = new StringReader(text.StartsWith('\uFEFF') ? text[1..] : text);
        var lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length > MaxLineLength)
            {
                errors.Add(new PullListError(fileName, lineNumber, Excerpt(line.Trim()), $"line is longer than {MaxLineLength} characters"));
                continue;
            }

            var content = StripComment(line).Trim();
            if (content.Length == 0)
            {
                continue;
            }

            if (content.Any(char.IsWhiteSpace))
            {
                errors.Add(new PullListError(fileName, lineNumber, Excerpt(line.Trim()), "more than one word: give one image reference per line"));
                continue;
            }

            if (!ImageReference.TryNormalize(content, out var reference, out var reason))
            {
                errors.Add(new PullListError(fileName, lineNumber, Excerpt(line.Trim()), reason));
                continue;
            }

            var normalized = reference.ToString();
            if (seen.Add(normalized))
            {
                entries.Add(new PullEntry(normalized, lineNumber, content));
            }
        }

        return new PullListParse(entries, errors);
    }

    /// <summary>
    /// Reads and parses the pull list at <paramref name="path"/>, reading at most <see cref="MaxFileBytes"/> + 1 bytes
    /// so a huge or growing file costs no more than that. A file that is not UTF-8 text (binary, UTF-16, invalid
    /// bytes) or too large is refused whole: one error with line number 0, which <see cref="PullListParse.Refused"/>
    /// reports. I/O failures (missing file, permissions, not a regular file) throw; the caller decides whether a
    /// vanished list matters.
    /// </summary>
    public static async Task<PullListParse> ReadAsync(string path, CancellationToken cancellationToken)
    {
        // Opened without blocking and only if a regular file: a FIFO or /proc/kmsg named *.txt never holds a worker.
        await using var stream = Scan.SafeFile.OpenRead(path, bufferSize: 1, out var status);
        if (status.Size > MaxFileBytes)
        {
            return TooLarge(path);
        }

        var buffer = new byte[MaxFileBytes + 1];
        var total = 0;
        while (total < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        if (total > MaxFileBytes)
        {
            return TooLarge(path);
        }

        var bytes = buffer.AsSpan(0, total);
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
        {
            return Refused(path, "the file is UTF-16 text; save it as UTF-8");
        }

        if (bytes.Contains((byte)0))
        {
            return Refused(path, "the file is binary (it holds NUL bytes), not a list of image references");
        }

        string text;
        try
        {
            text = StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            return Refused(path, "the file is not UTF-8 text");
        }

        return Parse(path, text);
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static PullListParse Refused(string fileName, string reason) =>
        new([], [new PullListError(fileName, 0, "", reason + "; nothing in it was pulled")]);

    private static PullListParse TooLarge(string fileName) =>
        new([], [new PullListError(fileName, 0, "", $"file is larger than {MaxFileBytes} bytes; nothing in it was pulled")]);

    /// <summary>
    /// Cuts a comment: '#' at the start or after whitespace, as a shell does. A '#' glued to a word is left in place, so
    /// <c>nginx#1.25</c> is reported as an invalid reference instead of silently pulling <c>nginx:latest</c>.
    /// </summary>
    private static string StripComment(string line)
    {
        for (var i = 0; i < line.Length; i++)
        {
            if (line[i] == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1])))
            {
                return line[..i];
            }
        }

        return line;
    }

    private static string Excerpt(string line) => line.Length <= MaxErrorLineLength ? line : line[..MaxErrorLineLength] + "…";
}
