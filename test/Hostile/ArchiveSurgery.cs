using System.Formats.Tar;
using System.IO.Compression;

namespace Imageimportd.Tests.Hostile;

/// <summary>Rewrites real archives into hostile ones: entries dropped, altered, duplicated, reordered, or added.</summary>
internal static class ArchiveSurgery
{
    public sealed record Entry(string Name, TarEntryType Type, byte[] Data, string? Link);

    public static List<Entry> Read(string tarPath)
    {
        var entries = new List<Entry>();
        using var file = File.OpenRead(tarPath);
        using var reader = new TarReader(file);
        while (reader.GetNextEntry(copyData: true) is { } e)
        {
            var data = Array.Empty<byte>();
            if (e.DataStream is { } s)
            {
                using var ms = new MemoryStream();
                s.CopyTo(ms);
                data = ms.ToArray();
            }

            entries.Add(new Entry(e.Name, e.EntryType, data, string.IsNullOrEmpty(e.LinkName) ? null : e.LinkName));
        }

        return entries;
    }

    public static void Write(string tarPath, IEnumerable<Entry> entries)
    {
        using var file = File.Create(tarPath);
        using var writer = new TarWriter(file, TarEntryFormat.Pax);
        foreach (var e in entries)
        {
            var entry = new PaxTarEntry(e.Type, e.Name) { Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead };
            if (e.Link is not null)
            {
                entry.LinkName = e.Link;
            }

            if (e.Type is TarEntryType.RegularFile or TarEntryType.V7RegularFile)
            {
                entry.DataStream = new MemoryStream(e.Data);
            }

            writer.WriteEntry(entry);
        }
    }

    public static void Gzip(string source, string target)
    {
        using var input = File.OpenRead(source);
        using var output = File.Create(target);
        using var gz = new GZipStream(output, CompressionLevel.Fastest);
        input.CopyTo(gz);
    }

    public static void Truncate(string source, string target, double fraction)
    {
        var bytes = File.ReadAllBytes(source);
        File.WriteAllBytes(target, bytes[..(int)(bytes.Length * fraction)]);
    }
}
