using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Imageimportd.Cache;
using Imageimportd.Containerd;
using Imageimportd.Errors;
using Imageimportd.Images;

namespace Imageimportd.Cli;

/// <summary><c>cache show|prune</c>: the record of what was imported; prune also unpins what only forgotten files supplied.</summary>
internal static class CacheCommand
{
    public static Command Create(CommonOptions common)
    {
        var command = new Command("cache", "Show or prune the import cache.");
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Prune(common));
        return command;
    }

    private static (Option<string> Images, Option<string?> File) PathOptions() =>
        (new Option<string>("--images") { Description = "the watched images directory", Required = true, HelpName = "DIR" },
         new Option<string?>("--cache-file") { Description = "import cache (default DIR/.cache.json)", HelpName = "PATH" });

    private static ImportCache Load(ParseResult parse, Option<string> images, Option<string?> file) =>
        ImportCache.Load(parse.GetValue(file) ?? ImportCache.DefaultPath(parse.GetValue(images)!), TimeProvider.System);

    private static Command Show()
    {
        var (images, file) = PathOptions();
        var json = new Option<bool>("--json") { Description = "one JSON document" };
        var command = new Command("show", "List cache entries: file, size, mtime, images, when imported.") { images, file, json };
        command.SetAction(parse =>
        {
            var cache = Load(parse, images, file);
            if (cache.LoadedCorrupt)
            {
                Console.Error.WriteLine($"imageimportd: cache {cache.FilePath} is unreadable: {cache.LoadError}");
                return ExitCodes.SomeFailed;
            }

            var entries = cache.Entries.OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
            if (parse.GetValue(json))
            {
                using var stdout = Console.OpenStandardOutput();
                using var w = new Utf8JsonWriter(stdout, new JsonWriterOptions { Indented = true });
                w.WriteStartArray();
                foreach (var (path, entry) in entries)
                {
                    w.WriteStartObject();
                    w.WriteString("file", path);
                    w.WriteNumber("size", entry.Stamp.Size);
                    w.WriteString("modTime", Mtime(entry));
                    w.WriteStartArray("images");
                    foreach (var image in entry.Images)
                    {
                        w.WriteStringValue(image);
                    }

                    w.WriteEndArray();
                    if (entry.ImportedAt is { } at)
                    {
                        w.WriteString("importedAt", at);
                    }

                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.Flush();
                Console.WriteLine();
                return ExitCodes.Ok;
            }

            foreach (var (path, entry) in entries)
            {
                Console.WriteLine($"{path}\t{entry.Stamp.Size}\t{Mtime(entry)}\t{entry.ImportedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-"}\t{string.Join(",", entry.Images)}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Prune(CommonOptions common)
    {
        var (images, file) = PathOptions();
        var keepPins = new Option<bool>("--keep-pins") { Description = "do not unpin the images of pruned entries (prune only forgets)" };
        var command = new Command("prune", "Drop entries of files that no longer exist, and unpin the images only they supplied.") { images, file, keepPins };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var cache = Load(parse, images, file);
            if (cache.LoadedCorrupt)
            {
                // Saving now would replace what could not be read with an empty cache.
                Console.Error.WriteLine($"imageimportd: cache {cache.FilePath} is unreadable: {cache.LoadError}");
                return ExitCodes.SomeFailed;
            }

            var before = cache.Entries;
            var removed = cache.PruneMissing(File.Exists);

            // As the daemon does when a file goes: an image another remaining file supplies keeps its pin.
            var orphans = removed.SelectMany(path => before[path].Images).Distinct(StringComparer.Ordinal)
                .Where(image => cache.SuppliersOf(image).Count == 0).Order(StringComparer.Ordinal).ToList();
            IReadOnlyList<string> unpinned = [];
            if (!parse.GetValue(keepPins) && orphans.Count > 0)
            {
                try
                {
                    unpinned = await UnpinOursAsync(common.Containerd(parse), orphans, cancellationToken);
                }
                catch (BackendException ex)
                {
                    // Unpinned first, saved after: the entries stay, so the next prune tries again.
                    Console.Error.WriteLine($"imageimportd: could not unpin the images of pruned entries, cache left as it was: {ex.Message}");
                    return ExitCodes.SomeFailed;
                }
            }

            try
            {
                cache.Save();
            }
            catch (ImportCacheWriteException ex)
            {
                Console.Error.WriteLine($"imageimportd: {ex.Message}");
                return ExitCodes.SomeFailed;
            }

            foreach (var path in removed)
            {
                Console.WriteLine($"pruned {path}");
            }

            foreach (var image in unpinned)
            {
                Console.WriteLine($"unpinned {image}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Unpins those of <paramref name="names"/> that this daemon pinned (one List call); returns them.</summary>
    private static async Task<IReadOnlyList<string>> UnpinOursAsync(ContainerdOptions containerd, IReadOnlyList<string> names, CancellationToken cancellationToken)
    {
        using var client = new ContainerdClient(containerd);
        var pins = new ImageRecords(client.ImageStore());
        var ours = await pins.ListOursAsync(cancellationToken);
        var unpinned = new List<string>();
        foreach (var name in names)
        {
            if (ours.TryGetValue(name, out var image) && await pins.UnpinAsync(image, cancellationToken))
            {
                unpinned.Add(name);
            }
        }

        return unpinned;
    }

    private static string Mtime(ImportCacheEntry entry) =>
        DateTimeOffset.FromUnixTimeMilliseconds(entry.Stamp.ModifiedUnixNanoseconds / 1_000_000)
            .AddTicks(entry.Stamp.ModifiedUnixNanoseconds % 1_000_000 / 100)
            .ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
}
