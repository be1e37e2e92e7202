using System.Collections.Concurrent;
using System.Formats.Tar;
using System.Security.Cryptography;
using System.Text;
using Imageimportd.Tests.Fakes;

namespace Imageimportd.Tests.Compression;

/// <summary>
/// Deterministic payloads and their compressed forms, made once per test run with the real tools and shared by
/// the tests (compressing is most of the run time).
/// </summary>
internal static class TestPayloads
{
    private const int TarBudget = 768 << 10;

    private static readonly ConcurrentDictionary<string, Lazy<byte[]>> Cache = new();

    private static readonly Lazy<byte[]> MixedPayload = new(BuildMixed);

    private static readonly Lazy<byte[]> TarPayload = new(BuildTar);

    /// <summary>About 768 KiB of text, pseudo-random bytes and zeros.</summary>
    public static byte[] Mixed => MixedPayload.Value;

    /// <summary>A real tar of files from /usr/share/doc (and similar places), about 768 KiB.</summary>
    public static byte[] Tar => TarPayload.Value;

    public static byte[] Get(string name) => name switch
    {
        "mixed" => Mixed,
        "tar" => Tar,
        "empty" => [],
        _ => throw new ArgumentException($"unknown payload {name}", nameof(name)),
    };

    public static byte[] Random(int size, int seed)
    {
        var data = new byte[size];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>The payload compressed by <paramref name="tool"/> reading standard input, cached by payload and arguments.</summary>
    public static byte[] Compress(string payload, string tool, params string[] arguments) =>
        Cache.GetOrAdd(
            $"{payload}|{tool}|{string.Join(' ', arguments)}",
            _ => new Lazy<byte[]>(() => ExternalTool.Run(tool, [.. arguments, "-c"], Get(payload)))).Value;

    /// <summary>
    /// The payload compressed by <paramref name="tool"/> from a file, for options that need to know the input's
    /// size up front (lz4 --content-size).
    /// </summary>
    public static byte[] CompressFile(string payload, string tool, params string[] arguments) =>
        Cache.GetOrAdd(
            $"file:{payload}|{tool}|{string.Join(' ', arguments)}",
            _ => new Lazy<byte[]>(() =>
            {
                var path = Path.Combine(Path.GetTempPath(), $"imageimportd-compression-{Environment.ProcessId}-{Guid.NewGuid():N}");
                File.WriteAllBytes(path, Get(payload));
                try
                {
                    return ExternalTool.Run(tool, [.. arguments, "-c", path], null);
                }
                finally
                {
                    File.Delete(path);
                }
            })).Value;

    public static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexString(SHA256.HashData(data));

    private static byte[] BuildMixed()
    {
        using var output = new MemoryStream();
        var random = new Random(20240611);
        var words = new[] { "layer", "manifest", "digest", "sha256", "containerd", "snapshot", "image", "blob", "config", "index" };
        var text = new StringBuilder();
        for (var i = 0; text.Length < 512 << 10; i++)
        {
            text.Append("line ").Append(i).Append(": ");
            for (var w = 0; w < 8; w++)
            {
                text.Append(words[random.Next(words.Length)]).Append(' ');
            }

            text.Append('\n');
        }

        output.Write(Encoding.ASCII.GetBytes(text.ToString()));
        output.Write(Random(128 << 10, 7));
        output.Write(new byte[64 << 10]);
        output.Write(Encoding.ASCII.GetBytes(text.ToString(0, 64 << 10)));
        return output.ToArray();
    }

    private static byte[] BuildTar()
    {
        // Places that hold only regular files and links on Debian-like systems (no FIFOs or devices to block on).
        string[] roots = ["/usr/share/doc", "/usr/share/common-licenses", "/usr/share/perl5", "/usr/share/zoneinfo", "/usr/share/dotnet"];
        var files = roots
            .Where(Directory.Exists)
            .SelectMany(root => SafeFiles(root))
            .Order(StringComparer.Ordinal);

        // Fixed metadata (the builder's) keeps the payload stable across runs on the same machine.
        using var tar = new TarBuilder(TarEntryFormat.Pax);
        foreach (var file in files)
        {
            if (tar.Length > TarBudget)
            {
                break;
            }

            var info = new FileInfo(file);
            if (info.LinkTarget is not null || !info.Exists || info.Length > 256 << 10)
            {
                continue;
            }

            byte[] content;
            try
            {
                content = File.ReadAllBytes(file);
            }
            catch (Exception e) when (e is UnauthorizedAccessException or IOException)
            {
                continue;
            }

            tar.File(file.TrimStart('/'), content);
        }

        if (tar.Length < 64 << 10)
        {
            throw new InvalidOperationException("found too few files under /usr/share/doc and friends to build a tar payload");
        }

        return tar.ToArray();
    }

    private static List<string> SafeFiles(string root)
    {
        try
        {
            return Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }).ToList();
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            return [];
        }
    }
}
