namespace Imageimportd.Queue;

/// <summary>
/// Looks at a file without opening it. Contract: returns the file's current size and mtime at full precision, or
/// null when the path does not exist (or is not reachable); never throws for a missing file, and is cheap enough to
/// call under a lock.
/// </summary>
public interface IFileProbe
{
    FileStamp? Probe(string path);
}
