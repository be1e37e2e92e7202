namespace Imageimportd.Queue;

/// <summary>
/// What says whether a file changed: its size, its modification time and its inode. The time is kept in whole
/// nanoseconds since the Unix epoch, as stat(2) reports it: .NET's <see cref="DateTime"/> stops at 100 ns, and two
/// writes within the same 100 ns must still compare different. The inode tells a file replaced by rename (same size,
/// an mtime kept by <c>cp -p</c>) from the one it replaced; 0 when unknown. The cache records size and mtime only
/// (as k3s does), so it compares with <see cref="SameSizeAndTime"/>.
/// </summary>
public readonly record struct FileStamp(long Size, long ModifiedUnixNanoseconds, ulong Inode = 0)
{
    public bool SameSizeAndTime(FileStamp other) => Size == other.Size && ModifiedUnixNanoseconds == other.ModifiedUnixNanoseconds;

    /// <summary>The same stamp without its inode, as the cache keeps it.</summary>
    public FileStamp WithoutInode() => this with { Inode = 0 };
}
