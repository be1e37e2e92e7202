namespace Imageimportd.Queue;

/// <summary>
/// A file handed out for import. <paramref name="Stamp"/> is the stamp that was stable for the settle time;
/// <paramref name="Attempt"/> counts hand-outs since the file last changed (1 for the first try).
/// </summary>
public sealed record QueueItem(string Path, FileStamp Stamp, int Attempt);
