namespace Imageimportd.Cache;

/// <summary>
/// Batches the cache's writes: <see cref="Changed"/> after each recorded import schedules one save
/// <see cref="Interval"/> later, and changes within that time ride along, so a pass over 10,000 files writes the file
/// about once per interval instead of once (and one fsync) per file. <see cref="Flush"/> saves at once when something
/// is unsaved: the daemon calls it when a pass ends and at shutdown. A failed save goes to the error callback; the
/// next change or flush tries again. Timing comes from the injected <see cref="TimeProvider"/>. Thread-safe.
/// </summary>
public sealed class CacheSaver : IDisposable
{
    private readonly ImportCache _cache;
    private readonly TimeProvider _time;
    private readonly Action<ImportCacheWriteException> _failed;
    private readonly Action<int>? _saved;
    private readonly Lock _gate = new();
    private ITimer? _pending;
    private bool _disposed;

    /// <param name="saved">Told of each write (the number of entries), for the debug log.</param>
    public CacheSaver(ImportCache cache, TimeProvider time, TimeSpan interval, Action<ImportCacheWriteException> failed, Action<int>? saved = null)
    {
        _saved = saved;
        _cache = cache;
        _time = time;
        Interval = interval;
        _failed = failed;
    }

    /// <summary>At most one save per interval while changes keep coming.</summary>
    public TimeSpan Interval { get; }

    /// <summary>Something was recorded or forgotten: save within <see cref="Interval"/>.</summary>
    public void Changed()
    {
        if (_cache.FilePath is null)
        {
            return;
        }

        lock (_gate)
        {
            if (_pending is not null || _disposed)
            {
                return;
            }

            _pending = _time.CreateTimer(_ => Fire(), null, Interval, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Saves now if anything is unsaved (the end of a pass, shutdown).</summary>
    public void Flush()
    {
        lock (_gate)
        {
            _pending?.Dispose();
            _pending = null;
        }

        SaveIfDirty();
    }

    /// <summary>Flushes and stops scheduling saves.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        Flush();
    }

    private void Fire()
    {
        lock (_gate)
        {
            _pending?.Dispose();
            _pending = null;
        }

        SaveIfDirty();
    }

    private void SaveIfDirty()
    {
        if (_cache.FilePath is null || !_cache.IsDirty)
        {
            return;
        }

        try
        {
            _cache.Save();
            _saved?.Invoke(_cache.Count);
        }
        catch (ImportCacheWriteException ex)
        {
            _failed(ex);
        }
    }
}
