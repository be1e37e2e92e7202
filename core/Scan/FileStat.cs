namespace Imageimportd.Scan;

/// <summary>A stat result: what statx(2) says about one file (its type, identity, sizes and times).</summary>
public readonly record struct FileStat(uint Mode, ulong Device, ulong Inode, long Size, long Blocks, long MtimeNanoseconds)
{
    private const uint TypeMask = 0xF000;

    /// <summary>Owner, as statx reports it (set by <see cref="NativeFile"/>; 0 where a status was made by hand).</summary>
    public int Uid { get; init; }

    public int Gid { get; init; }

    /// <summary>Access time: seconds since the epoch and the nanoseconds within that second.</summary>
    public (long Seconds, uint Nanoseconds) Atime { get; init; }

    /// <summary>Modification time as seconds and nanoseconds (<see cref="MtimeNanoseconds"/> is the same as one number).</summary>
    public (long Seconds, uint Nanoseconds) Mtime { get; init; }

    /// <summary>The device a character or block device node stands for (major, minor); (0, 0) for other files.</summary>
    public (uint Major, uint Minor) Rdev { get; init; }

    public bool IsRegular => (Mode & TypeMask) == 0x8000;

    public bool IsDirectory => (Mode & TypeMask) == 0x4000;

    public bool IsSymlink => (Mode & TypeMask) == 0xA000;

    /// <summary>Bytes the file system allocated (<c>st_blocks</c> is in 512-byte units whatever the block size).</summary>
    public long AllocatedBytes => Blocks * 512;

    /// <summary>The type in words, for errors: "a FIFO", "a character device", ….</summary>
    public string TypeName => (Mode & TypeMask) switch
    {
        0x8000 => "a regular file",
        0x4000 => "a directory",
        0xA000 => "a symbolic link",
        0x1000 => "a FIFO",
        0x2000 => "a character device",
        0x6000 => "a block device",
        0xC000 => "a socket",
        _ => "an unknown file type",
    };
}
