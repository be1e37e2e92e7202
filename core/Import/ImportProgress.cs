using System.Diagnostics;

namespace Imageimportd.Import;

/// <summary>How far one file's import has read its (possibly compressed) input. Updated by the reader, read by reporters.</summary>
public sealed class ImportProgress(string path, long totalBytes)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _readBytes;

    public string Path { get; } = path;

    public long TotalBytes { get; } = totalBytes;

    public long ReadBytes => Interlocked.Read(ref _readBytes);

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Bytes of input per second so far.</summary>
    public double Rate => ReadBytes / Math.Max(Elapsed.TotalSeconds, 0.001);

    public TimeSpan? Eta => Rate <= 0 || TotalBytes <= 0 ? null : TimeSpan.FromSeconds(Math.Max(0, TotalBytes - ReadBytes) / Rate);

    public override string ToString()
    {
        var percent = TotalBytes > 0 ? 100.0 * ReadBytes / TotalBytes : 0;
        var eta = Eta is { } e ? $", ETA {e.TotalSeconds:0}s" : "";
        return $"{System.IO.Path.GetFileName(Path)} {percent:0}% ({ReadBytes >> 20}/{TotalBytes >> 20} MiB, {Rate / (1 << 20):0} MiB/s{eta})";
    }

    internal void Add(int bytes) => Interlocked.Add(ref _readBytes, bytes);
}
