using System.Security.Cryptography;
using System.Text.Json;
using Imageimportd.Queue;

namespace Imageimportd.Cache;

/// <summary>
/// The persistent record of imported files, at <c>&lt;images&gt;/.cache.json</c> by default. Contract:
/// <list type="bullet">
/// <item>Reads k3s's file: an object mapping absolute path → <c>{"size": N, "modTime": "RFC 3339"}</c> (k3s writes
/// whole seconds; its entries then never match a file with a sub-second mtime, which costs one re-import, never a
/// missed one).</item>
/// <item>Writes a superset k3s still reads: the same two keys (modTime with nanoseconds, which Go's RFC 3339 parser
/// accepts) plus <c>images</c> and <c>importedAt</c>; atomically (temp file in the same directory, fsync, rename, fsync
/// of the directory).</item>
/// <item>A corrupt file loads as empty with <see cref="LoadedCorrupt"/> set; a failed write throws
/// <see cref="ImportCacheWriteException"/> and leaves the old file as it was.</item>
/// </list>
/// Thread-safe: one lock guards the entries and serialises saves.
/// </summary>
public sealed class ImportCache
{
    public const string DefaultFileName = ".cache.json";

    private readonly Lock _lock = new();
    private readonly Dictionary<string, ImportCacheEntry> _entries;
    private readonly TimeProvider _time;

    private ImportCache(string? filePath, Dictionary<string, ImportCacheEntry> entries, TimeProvider time, string? loadError)
    {
        FilePath = filePath;
        _entries = entries;
        _time = time;
        LoadError = loadError;
    }

    /// <summary>Null for a cache kept in memory only.</summary>
    public string? FilePath { get; }

    /// <summary>True when the file existed but could not be read as a cache; the cache started empty.</summary>
    public bool LoadedCorrupt => LoadError is not null;

    /// <summary>Why the file could not be read, for the caller's one warning.</summary>
    public string? LoadError { get; }

    /// <summary>A snapshot of the entries, keyed by absolute path.</summary>
    public IReadOnlyDictionary<string, ImportCacheEntry> Entries
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, ImportCacheEntry>(_entries, StringComparer.Ordinal);
            }
        }
    }

    public static string DefaultPath(string imagesDirectory) => Path.Combine(Path.GetFullPath(imagesDirectory), DefaultFileName);

    /// <summary>A cache kept in memory only (<c>watch --no-cache</c>): nothing is read, and nothing may be saved.</summary>
    public static ImportCache InMemory(TimeProvider time) => new(null, new(StringComparer.Ordinal), time, null);

    /// <summary>Loads the cache; a missing or empty file is an empty cache (k3s lets users touch the file).</summary>
    public static ImportCache Load(string filePath, TimeProvider time)
    {
        filePath = Path.GetFullPath(filePath);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(filePath);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return new ImportCache(filePath, new(StringComparer.Ordinal), time, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return new ImportCache(filePath, new(StringComparer.Ordinal), time, ex.Message);
        }

        if (bytes.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
        {
            return new ImportCache(filePath, new(StringComparer.Ordinal), time, null);
        }

        try
        {
            return new ImportCache(filePath, Parse(bytes), time, null);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException or InvalidOperationException or FormatException)
        {
            return new ImportCache(filePath, new(StringComparer.Ordinal), time, ex.Message);
        }
    }

    /// <summary>True when the cache has <paramref name="path"/> with exactly this size and mtime (to the nanosecond).</summary>
    public bool IsUnchanged(string path, FileStamp stamp)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(Path.GetFullPath(path), out var entry) && entry.Stamp == stamp;
        }
    }

    public void Record(string path, FileStamp stamp, IReadOnlyList<string> images)
    {
        lock (_lock)
        {
            _entries[Path.GetFullPath(path)] = new ImportCacheEntry(stamp, [.. images], _time.GetUtcNow());
        }
    }

    /// <summary>Returns false when there was no entry.</summary>
    public bool Forget(string path)
    {
        lock (_lock)
        {
            return _entries.Remove(Path.GetFullPath(path));
        }
    }

    /// <summary>Drops the entries of files that no longer exist, so the file does not grow without bound.</summary>
    public IReadOnlyList<string> PruneMissing(Func<string, bool> exists)
    {
        lock (_lock)
        {
            var removed = _entries.Keys.Where(p => !exists(p)).Order(StringComparer.Ordinal).ToList();
            foreach (var path in removed)
            {
                _entries.Remove(path);
            }

            return removed;
        }
    }

    /// <summary>Writes the cache atomically. Throws <see cref="ImportCacheWriteException"/> when it cannot.</summary>
    public void Save()
    {
        var filePath = FilePath ?? throw new InvalidOperationException("an in-memory import cache is never saved");
        lock (_lock)
        {
            var directory = Path.GetDirectoryName(filePath)!;
            // A dot name, so the scan (which skips dot files) never takes a half-written cache for an archive.
            var temp = Path.Combine(directory, $"{DefaultFileName}.tmp-{Environment.ProcessId}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                    {
                        Write(writer);
                    }

                    stream.Flush(flushToDisk: true);
                }

                File.Move(temp, filePath, overwrite: true);
                // Without it the rename may not survive a power cut; failing to sync is not worth failing the save.
                DirectorySync.Sync(directory);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                try
                {
                    File.Delete(temp);
                }
                catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
                {
                    // Nothing more to do: the temp file could not be created there in the first place.
                }

                throw new ImportCacheWriteException(filePath, ex);
            }
        }
    }

    private void Write(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var (path, entry) in _entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (Scan.NativePath.HasRawBytes(path))
            {
                continue; // A name that is not UTF-8 cannot be a JSON key; such a file is checked again at each start.
            }

            writer.WriteStartObject(path);
            writer.WriteNumber("size", entry.Stamp.Size);
            writer.WriteString("modTime", Rfc3339Nano.Format(entry.Stamp.ModifiedUnixNanoseconds));
            writer.WriteStartArray("images");
            foreach (var image in entry.Images)
            {
                writer.WriteStringValue(image);
            }

            writer.WriteEndArray();
            if (entry.ImportedAt is { } at)
            {
                writer.WriteString("importedAt", Rfc3339Nano.Format((at.UtcTicks - DateTime.UnixEpoch.Ticks) * 100));
            }

            writer.WriteEndObject();
        }

        writer.WriteEndObject();
    }

    private static Dictionary<string, ImportCacheEntry> Parse(byte[] bytes)
    {
        var entries = new Dictionary<string, ImportCacheEntry>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(bytes);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidDataException("the cache is not a JSON object");
        }

        foreach (var property in document.RootElement.EnumerateObject())
        {
            var value = property.Value;
            if (value.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidDataException($"entry {property.Name} is not an object");
            }

            // k3s writes a zero time as null; such an entry can never match a file, so it is not kept.
            if (!value.TryGetProperty("size", out var size) || !value.TryGetProperty("modTime", out var modTime)
                || modTime.ValueKind != JsonValueKind.String)
            {
                continue;
            }

            if (!Rfc3339Nano.TryParse(modTime.GetString()!, out var nanos))
            {
                throw new InvalidDataException($"entry {property.Name} has an unreadable modTime");
            }

            var images = new List<string>();
            if (value.TryGetProperty("images", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                images.AddRange(list.EnumerateArray().Where(i => i.ValueKind == JsonValueKind.String).Select(i => i.GetString()!));
            }

            DateTimeOffset? importedAt = null;
            if (value.TryGetProperty("importedAt", out var at) && at.ValueKind == JsonValueKind.String
                && Rfc3339Nano.TryParse(at.GetString()!, out var atNanos))
            {
                importedAt = DateTimeOffset.UnixEpoch.AddTicks(atNanos / 100);
            }

            entries[property.Name] = new ImportCacheEntry(new FileStamp(size.GetInt64(), nanos), images, importedAt);
        }

        return entries;
    }
}
