using System.Security.Cryptography;
using System.Text.Json;
using Imageimportd.Queue;

namespace Imageimportd.Cache;

/// <summary>
/// The persistent record of imported files, at <c>&lt;images&gt;/.cache.json</c> by default. Contract:
/// <list type="bullet">
/// <item>Reads k3s's file: an object mapping absolute path → <c>{"size": N, "modTime": "RFC 3339"}</c>. k3s writes
/// whole seconds; such an entry matches a file whose mtime falls in that second (see
/// <see cref="ImportCacheEntry.Matches"/>), and records no images (<see cref="ImportCacheEntry.FromK3s"/>).</item>
/// <item>Reads it as hostile input (<see cref="CacheFile"/>): never through a symlink, never a FIFO or a device, never
/// more than <see cref="MaxFileBytes"/>; what is refused loads as empty with <see cref="LoadError"/> saying why.</item>
/// <item>Writes a superset k3s still reads: the same two keys (modTime with nanoseconds, which Go's RFC 3339 parser
/// accepts) plus <c>images</c> and <c>importedAt</c>, compact; atomically (temp file in the same directory, fsync,
/// rename, fsync of the directory). A k3s entry is written back without <c>images</c> until they are learnt.</item>
/// <item>A corrupt file loads as empty with <see cref="LoadedCorrupt"/> set; a failed write throws
/// <see cref="ImportCacheWriteException"/> and leaves the old file as it was.</item>
/// <item>Lookups are O(1): by path, and by image name (which entries supply an image).</item>
/// <item>An entry can be marked for re-import (<see cref="MarkForReimport"/>): it stays, and is saved, as it is, but
/// <see cref="TryGetCurrent"/> no longer vouches for the file until it is recorded again or forgotten. The mark is
/// kept in memory only: a restart checks every cached file anyway.</item>
/// </list>
/// Thread-safe: one lock guards the entries and serialises saves.
/// </summary>
public sealed class ImportCache
{
    public const string DefaultFileName = ".cache.json";

    /// <summary>A cache this big is not read (a million entries take about 200 MiB).</summary>
    public const long MaxFileBytes = 256L * 1024 * 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<string, ImportCacheEntry> _entries;
    // image → the one path supplying it (a string, the common case) or several (a HashSet): a million entries must
    // not cost a million sets.
    private readonly Dictionary<string, object> _suppliers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reimport = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private long _version;
    private long _savedVersion;
    private int _saves;

    private ImportCache(string? filePath, Dictionary<string, ImportCacheEntry> entries, TimeProvider time, string? loadError)
    {
        FilePath = filePath;
        _entries = entries;
        _time = time;
        LoadError = loadError;
        foreach (var (path, entry) in entries)
        {
            Index(path, entry.Images);
        }
    }

    /// <summary>Null for a cache kept in memory only.</summary>
    public string? FilePath { get; }

    /// <summary>True when the file existed but could not be read as a cache; the cache started empty.</summary>
    public bool LoadedCorrupt => LoadError is not null;

    /// <summary>Why the file could not be read, for the caller's one warning.</summary>
    public string? LoadError { get; }

    /// <summary>A snapshot of the entries, keyed by absolute path. A copy: use <see cref="TryGet"/> for one file.</summary>
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

    /// <summary>A snapshot of the paths, cheaper than <see cref="Entries"/> when only they are needed.</summary>
    public IReadOnlyList<string> Paths
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries.Keys];
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>True when something changed since the last <see cref="Save"/>.</summary>
    public bool IsDirty
    {
        get
        {
            lock (_lock)
            {
                return _version != _savedVersion;
            }
        }
    }

    /// <summary>How many times the file was written, for tests and the debug log.</summary>
    public int Saves => Volatile.Read(ref _saves);

    public static string DefaultPath(string imagesDirectory) => Path.Combine(Path.GetFullPath(imagesDirectory), DefaultFileName);

    /// <summary>A cache kept in memory only (<c>watch --no-cache</c>): nothing is read, and nothing may be saved.</summary>
    public static ImportCache InMemory(TimeProvider time) => new(null, new(StringComparer.Ordinal), time, null);

    /// <summary>Loads the cache; a missing or empty file is an empty cache (k3s lets users touch the file).</summary>
    public static ImportCache Load(string filePath, TimeProvider time)
    {
        filePath = Path.GetFullPath(filePath);
        var read = CacheFile.Read(filePath, MaxFileBytes);
        if (read.Refused is { } refused)
        {
            return new ImportCache(filePath, new(StringComparer.Ordinal), time, refused);
        }

        if (read.Bytes is not { } bytes || bytes.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
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

    /// <summary>True when the cache has <paramref name="path"/> and it matches this stamp (<see cref="ImportCacheEntry.Matches"/>).</summary>
    public bool IsUnchanged(string path, FileStamp stamp) => TryGet(path, out var entry) && entry.Matches(stamp);

    /// <summary>
    /// True when <paramref name="path"/> is imported as it is now: its entry matches <paramref name="stamp"/>, names
    /// its images (a k3s entry never does, so such a file is imported once to learn them) and is not marked for
    /// re-import. One lock for the whole answer, so a concurrent <see cref="Record"/> is seen entirely or not at all.
    /// </summary>
    public bool TryGetCurrent(string path, FileStamp stamp, out ImportCacheEntry entry)
    {
        path = Path.GetFullPath(path);
        lock (_lock)
        {
            return _entries.TryGetValue(path, out entry!) && !entry.FromK3s && entry.Matches(stamp) && !_reimport.Contains(path);
        }
    }

    /// <summary>
    /// The file's entry no longer vouches for it (an image it names is gone, or a pin could not be restored):
    /// <see cref="TryGetCurrent"/> is false until the next <see cref="Record"/> or forget of the file. Not a change
    /// to save; a path without an entry is ignored.
    /// </summary>
    public void MarkForReimport(string path)
    {
        path = Path.GetFullPath(path);
        lock (_lock)
        {
            if (_entries.ContainsKey(path))
            {
                _reimport.Add(path);
            }
        }
    }

    public bool TryGet(string path, out ImportCacheEntry entry)
    {
        lock (_lock)
        {
            return _entries.TryGetValue(path, out entry!) || _entries.TryGetValue(Path.GetFullPath(path), out entry!);
        }
    }

    /// <summary>The files (absolute paths) whose entries name <paramref name="image"/>.</summary>
    public IReadOnlyList<string> SuppliersOf(string image)
    {
        lock (_lock)
        {
            return _suppliers.TryGetValue(image, out var paths)
                ? paths is string one ? [one] : [.. (HashSet<string>)paths]
                : [];
        }
    }

    /// <summary>Records a successful import; returns the entry it replaced, if any.</summary>
    public ImportCacheEntry? Record(string path, FileStamp stamp, IReadOnlyList<string> images)
    {
        path = Path.GetFullPath(path);
        lock (_lock)
        {
            var previous = RemoveLocked(path);
            var entry = new ImportCacheEntry(stamp.WithoutInode(), [.. images], _time.GetUtcNow());
            _entries[path] = entry;
            Index(path, entry.Images);
            _version++;
            return previous;
        }
    }

    /// <summary>Returns false when there was no entry.</summary>
    public bool Forget(string path) => ForgetAll([path]) > 0;

    /// <summary>Drops the entries of these files in one step; returns how many there were.</summary>
    public int ForgetAll(IEnumerable<string> paths)
    {
        lock (_lock)
        {
            var removed = 0;
            foreach (var path in paths)
            {
                removed += (RemoveLocked(path) ?? RemoveLocked(Path.GetFullPath(path))) is null ? 0 : 1;
            }

            _version += removed > 0 ? 1 : 0;
            return removed;
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
                RemoveLocked(path);
            }

            _version += removed.Count > 0 ? 1 : 0;
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
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    using (var writer = new Utf8JsonWriter(stream))
                    {
                        Write(writer);
                    }

                    stream.Flush(flushToDisk: true);
                }

                // rename(2) replaces a symlink at the cache's path with the file, never writes through it.
                File.Move(temp, filePath, overwrite: true);
                // Without it the rename may not survive a power cut; failing to sync is not worth failing the save.
                DirectorySync.Sync(directory);
                _savedVersion = _version;
                Interlocked.Increment(ref _saves);
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

    private ImportCacheEntry? RemoveLocked(string path)
    {
        if (!_entries.Remove(path, out var previous))
        {
            return null;
        }

        _reimport.Remove(path);

        foreach (var image in previous.Images)
        {
            if (!_suppliers.TryGetValue(image, out var paths))
            {
                continue;
            }

            if (paths is string one ? one == path : ((HashSet<string>)paths).Remove(path) && ((HashSet<string>)paths).Count == 0)
            {
                _suppliers.Remove(image);
            }
        }

        return previous;
    }

    private void Index(string path, IReadOnlyList<string> images)
    {
        foreach (var image in images)
        {
            if (!_suppliers.TryGetValue(image, out var paths))
            {
                _suppliers[image] = path;
            }
            else if (paths is string one)
            {
                if (one != path)
                {
                    _suppliers[image] = new HashSet<string>(StringComparer.Ordinal) { one, path };
                }
            }
            else
            {
                ((HashSet<string>)paths).Add(path);
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
            if (!entry.FromK3s)
            {
                writer.WriteStartArray("images");
                foreach (var image in entry.Images)
                {
                    writer.WriteStringValue(image);
                }

                writer.WriteEndArray();
            }

            if (entry.ImportedAt is { } at)
            {
                writer.WriteString("importedAt", Rfc3339Nano.Format((at.UtcTicks - DateTime.UnixEpoch.Ticks) * 100));
            }

            writer.WriteEndObject();
            if (writer.BytesPending > 1 << 16)
            {
                writer.Flush();
            }
        }

        writer.WriteEndObject();
    }

    /// <summary>
    /// One forward pass with a reader, no document tree: a cache of a million entries costs its entries' memory, not
    /// several times its size.
    /// </summary>
    private static Dictionary<string, ImportCacheEntry> Parse(ArraySegment<byte> bytes)
    {
        var entries = new Dictionary<string, ImportCacheEntry>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { MaxDepth = 8 });
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw new InvalidDataException("the cache is not a JSON object");
        }

        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            var path = reader.GetString()!;
            if (Next(ref reader) != JsonTokenType.StartObject)
            {
                throw new InvalidDataException($"entry {path} is not an object");
            }

            if (ReadEntry(ref reader, path) is { } entry)
            {
                entries[path] = entry;
            }
        }

        if (reader.TokenType != JsonTokenType.EndObject)
        {
            throw new InvalidDataException("the cache is not a JSON object");
        }

        return entries;
    }

    private static ImportCacheEntry? ReadEntry(ref Utf8JsonReader reader, string path)
    {
        long? size = null;
        long? modTime = null;
        List<string>? images = null;
        DateTimeOffset? importedAt = null;
        while (Next(ref reader) == JsonTokenType.PropertyName)
        {
            var key = reader.GetString();
            var token = Next(ref reader);
            switch (key)
            {
                case "size" when token == JsonTokenType.Number:
                    size = reader.GetInt64();
                    break;
                case "modTime" when token == JsonTokenType.String:
                    // k3s writes a zero time as null; such an entry can never match a file, so it is not kept.
                    modTime = Rfc3339Nano.TryParse(reader.GetString()!, out var nanos)
                        ? nanos
                        : throw new InvalidDataException($"entry {path} has an unreadable modTime");
                    break;
                case "images" when token == JsonTokenType.StartArray:
                    images = [];
                    while (Next(ref reader) != JsonTokenType.EndArray)
                    {
                        if (reader.TokenType == JsonTokenType.String)
                        {
                            images.Add(reader.GetString()!);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }

                    break;
                case "importedAt" when token == JsonTokenType.String:
                    if (Rfc3339Nano.TryParse(reader.GetString()!, out var atNanos))
                    {
                        importedAt = DateTimeOffset.UnixEpoch.AddTicks(atNanos / 100);
                    }

                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        return size is { } s && modTime is { } m
            ? new ImportCacheEntry(new FileStamp(s, m), images ?? [], importedAt, FromK3s: images is null)
            : null;
    }

    private static JsonTokenType Next(ref Utf8JsonReader reader) =>
        reader.Read() ? reader.TokenType : throw new InvalidDataException("the cache ends early");
}
