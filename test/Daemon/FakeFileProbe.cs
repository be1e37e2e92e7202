using Imageimportd.Queue;

namespace Imageimportd.Tests.Daemon;

/// <summary>An <see cref="IFileProbe"/> over an in-memory table, so queue tests control exactly what "changed" means.</summary>
internal sealed class FakeFileProbe : IFileProbe
{
    private readonly Dictionary<string, FileStamp> _files = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public void Set(string path, long size, long mtime, ulong inode = 0)
    {
        lock (_lock)
        {
            _files[path] = new FileStamp(size, mtime, inode);
        }
    }

    public void Delete(string path)
    {
        lock (_lock)
        {
            _files.Remove(path);
        }
    }

    public FileStamp? Probe(string path)
    {
        lock (_lock)
        {
            return _files.TryGetValue(path, out var stamp) ? stamp : null;
        }
    }
}
