namespace Imageimportd.Queue;

/// <summary>
/// A file's size and modification time, the pair that says whether a file changed. The time is kept in whole
/// nanoseconds since the Unix epoch, as stat(2) reports it: .NET's <see cref="DateTime"/> stops at 100 ns, and two
/// writes within the same 100 ns must still compare different.
/// </summary>
public readonly record struct FileStamp(long Size, long ModifiedUnixNanoseconds);
