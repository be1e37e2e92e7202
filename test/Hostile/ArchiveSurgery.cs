using System.Formats.Tar;
using System.IO.Compression;
using Imageimportd.Tests.Harness;

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

    /// <summary>One ustar header block with a valid checksum, declaring <paramref name="size"/> bytes of data.</summary>
    public static byte[] RawHeader(string name, char type, long size)
    {
        var h = new byte[512];
        System.Text.Encoding.ASCII.GetBytes(name).CopyTo(h, 0);
        System.Text.Encoding.ASCII.GetBytes("0000644\0").CopyTo(h, 100);
        System.Text.Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(h, 124);
        h[156] = (byte)type;
        System.Text.Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(h, 257);
        System.Text.Encoding.ASCII.GetBytes("        ").CopyTo(h, 148);
        var sum = h.Sum(b => (long)b);
        System.Text.Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(h, 148);
        return h;
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
