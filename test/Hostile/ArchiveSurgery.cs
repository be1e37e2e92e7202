using System.Formats.Tar;
using System.IO.Compression;
using Imageimportd.Tests.Fakes;
using Imageimportd.Tests.Harness;

namespace Imageimportd.Tests.Hostile;

/// <summary>Rewrites real archives into hostile ones: entries dropped, altered, duplicated, reordered, or added.</summary>
internal static class ArchiveSurgery
{
    public sealed record Entry(string Name, TarEntryType Type, byte[] Data, string? Link);

    public static List<Entry> Read(string tarPath) => Read(File.ReadAllBytes(tarPath));

    public static List<Entry> Read(byte[] tar)
    {
        var entries = new List<Entry>();
        using var reader = new TarReader(new MemoryStream(tar, writable: false));
        while (reader.GetNextEntry(copyData: true) is { } e)
        {
            using var data = new MemoryStream();
            e.DataStream?.CopyTo(data);
            entries.Add(new Entry(e.Name, e.EntryType, data.ToArray(), string.IsNullOrEmpty(e.LinkName) ? null : e.LinkName));
        }

        return entries;
    }

    public static void Write(string tarPath, IEnumerable<Entry> entries) => File.WriteAllBytes(tarPath, Build(entries, TarEntryFormat.Pax));

    /// <summary>The entries as a tar in <paramref name="format"/>; only the types archives hold (files, directories, links).</summary>
    public static byte[] Build(IEnumerable<Entry> entries, TarEntryFormat format)
    {
        using var tar = new TarBuilder(format);
        foreach (var e in entries)
        {
            _ = e.Type switch
            {
                TarEntryType.RegularFile or TarEntryType.V7RegularFile => tar.File(e.Name, e.Data),
                TarEntryType.Directory => tar.Directory(e.Name),
                TarEntryType.SymbolicLink => tar.Symlink(e.Name, e.Link ?? ""),
                TarEntryType.HardLink => tar.HardLink(e.Name, e.Link ?? ""),
                _ => throw new NotSupportedException($"{e.Type} entry {e.Name}"),
            };
        }

        return tar.ToArray();
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

    /// <summary>
    /// A docker archive with one layer of <paramref name="megabytes"/> MB of random (incompressible) bytes, made with
    /// tar and sha256sum: an import big enough to interrupt, or to fill a small disk.
    /// </summary>
    public static async Task MakeRandomDockerArchiveAsync(string path, int megabytes, string reference)
    {
        var script = path + ".sh";
        await File.WriteAllTextAsync(script, """
            set -euo pipefail
            out=$1; mb=$2; ref=$3; d=$(mktemp -d); mkdir -p "$d/root" "$d/img"
            head -c "${mb}M" /dev/urandom > "$d/root/blob"
            tar -C "$d/root" --mtime=@0 --owner=0 --group=0 -cf "$d/img/layer.tar" blob
            diff=$(sha256sum "$d/img/layer.tar" | cut -d' ' -f1)
            printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"config":{}}' "$diff" > "$d/img/config.json"
            cfg=$(sha256sum "$d/img/config.json" | cut -d' ' -f1); mv "$d/img/config.json" "$d/img/$cfg.json"
            printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$cfg" "$ref" > "$d/img/manifest.json"
            tar -C "$d/img" -cf "$out" .
            rm -rf "$d"
            """);
        await Tools.RunAsync("bash", [script, path, megabytes.ToString(System.Globalization.CultureInfo.InvariantCulture), reference], TimeSpan.FromSeconds(120), CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(150));
    }
}
