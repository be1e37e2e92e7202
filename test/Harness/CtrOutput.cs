using System.Globalization;
using System.Text.Json;

namespace Imageimportd.Tests.Harness;

/// <summary>
/// Parsers for ctr 1.6 table output. Columns are tabwriter-aligned; only fields that cannot
/// contain spaces are split on whitespace (SIZE "1.2 KiB" and AGE "3 seconds" can).
/// </summary>
internal static class CtrOutput
{
    private static readonly char[] Blanks = [' ', '\t'];

    public static IReadOnlyList<ImageRecord> ParseImages(string output)
    {
        var list = new List<ImageRecord>();
        foreach (var line in DataLines(output, "REF"))
        {
            // REF TYPE DIGEST SIZE(two words) PLATFORMS LABELS; labels are "k=v,k=v" or "-".
            var t = Split(line);
            if (t.Length < 6)
            {
                throw new FormatException($"unexpected 'ctr images ls' row: {line}");
            }

            var platforms = t[^2] == "-" ? [] : t[^2].Split(',');
            list.Add(new ImageRecord(t[0], t[2], t[1], platforms, ParseLabels(t[^1])));
        }

        return list;
    }

    public static IReadOnlyList<ImageCheckRecord> ParseImageCheck(string output)
    {
        var list = new List<ImageCheckRecord>();
        foreach (var line in DataLines(output, "REF"))
        {
            // REF TYPE DIGEST STATUS ["(n/m)"] SIZE UNPACKED
            var t = Split(line);
            if (t.Length < 5)
            {
                throw new FormatException($"unexpected 'ctr images check' row: {line}");
            }

            var status = t[3];
            list.Add(new ImageCheckRecord(t[0], t[2], status, status == "complete", t[^1] == "true"));
        }

        return list;
    }

    public static IReadOnlyList<ContentRecord> ParseContent(string output)
    {
        var list = new List<ContentRecord>();
        foreach (var line in DataLines(output, "DIGEST"))
        {
            // This table alone is tab-padded: DIGEST \t SIZE \t AGE \t LABELS.
            var t = line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (t.Length < 2)
            {
                throw new FormatException($"unexpected 'ctr content ls' row: {line}");
            }

            list.Add(new ContentRecord(t[0], t.Length >= 4 ? ParseLabels(t[^1]) : new Dictionary<string, string>()));
        }

        return list;
    }

    public static IReadOnlyList<SnapshotRecord> ParseSnapshots(string output)
    {
        var list = new List<SnapshotRecord>();
        foreach (var line in DataLines(output, "KEY"))
        {
            // KEY [PARENT] KIND: an empty parent is just padding.
            var t = Split(line);
            list.Add(t.Length switch
            {
                2 => new SnapshotRecord(t[0], null, t[1]),
                3 => new SnapshotRecord(t[0], t[1], t[2]),
                _ => throw new FormatException($"unexpected 'ctr snapshots ls' row: {line}"),
            });
        }

        return list;
    }

    public static IReadOnlyList<LeaseRecord> ParseLeases(string output)
    {
        var list = new List<LeaseRecord>();
        foreach (var line in DataLines(output, "ID"))
        {
            var t = Split(line);
            if (t.Length < 3)
            {
                throw new FormatException($"unexpected 'ctr leases ls' row: {line}");
            }

            var created = DateTimeOffset.Parse(t[1], CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
            list.Add(new LeaseRecord(t[0], created, ParseLabels(t[2])));
        }

        return list;
    }

    public static IReadOnlyDictionary<string, string> ParseSnapshotLabels(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (doc.RootElement.TryGetProperty("Labels", out var el) && el.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in el.EnumerateObject())
            {
                labels[p.Name] = p.Value.GetString() ?? string.Empty;
            }
        }

        return labels;
    }

    /// <summary>"k=v,k2=v2" (ctr's label format); "-" or empty means none.</summary>
    public static IReadOnlyDictionary<string, string> ParseLabels(string text)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        text = text.Trim();
        if (text.Length == 0 || text == "-")
        {
            return labels;
        }

        foreach (var pair in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                throw new FormatException($"unexpected label '{pair}' in '{text}'");
            }

            labels[pair[..eq]] = pair[(eq + 1)..];
        }

        return labels;
    }

    private static List<string> DataLines(string output, string firstHeader)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.TrimEnd('\r'))
            .Where(l => !string.IsNullOrWhiteSpace(l))
            .ToList();
        if (lines.Count > 0 && lines[0].StartsWith(firstHeader, StringComparison.Ordinal))
        {
            lines.RemoveAt(0);
        }

        return lines;
    }

    private static string[] Split(string line) => line.Split(Blanks, StringSplitOptions.RemoveEmptyEntries);
}
