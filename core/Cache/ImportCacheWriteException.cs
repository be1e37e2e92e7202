namespace Imageimportd.Cache;

/// <summary>The cache file could not be written (read-only directory, full disk). Imports go on without it.</summary>
public sealed class ImportCacheWriteException : Exception
{
    public ImportCacheWriteException(string path, Exception inner)
        : base($"cannot write the import cache {path}: {inner.Message}", inner)
    {
        CachePath = path;
    }

    public string CachePath { get; }
}
