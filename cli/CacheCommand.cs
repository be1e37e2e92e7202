using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Imageimportd.Cache;

namespace Imageimportd.Cli;

/// <summary><c>cache show|prune</c>: the record of what was imported.</summary>
internal static class CacheCommand
{
    public static Command Create()
    {
        var command = new Command("cache", "Show or prune the import cache.");
        command.Subcommands.Add(Show());
        command.Subcommands.Add(Prune());
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

    private static Command Prune()
    {
        var (images, file) = PathOptions();
        var command = new Command("prune", "Drop entries of files that no longer exist.") { images, file };
        command.SetAction(parse =>
        {
            var cache = Load(parse, images, file);
            if (cache.LoadedCorrupt)
            {
                // Saving now would replace what could not be read with an empty cache.
                Console.Error.WriteLine($"imageimportd: cache {cache.FilePath} is unreadable: {cache.LoadError}");
                return ExitCodes.SomeFailed;
            }

            var removed = cache.PruneMissing(File.Exists);
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

            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Mtime(ImportCacheEntry entry) =>
        DateTimeOffset.FromUnixTimeMilliseconds(entry.Stamp.ModifiedUnixNanoseconds / 1_000_000)
            .AddTicks(entry.Stamp.ModifiedUnixNanoseconds % 1_000_000 / 100)
            .ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
}
