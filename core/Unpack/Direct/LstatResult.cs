namespace Imageimportd.Unpack.Direct;

/// <summary>The parts of lstat(2) the applier needs; <see cref="Device"/> is a device node's st_rdev.</summary>
internal readonly record struct LstatResult(uint Mode, int Uid, int Gid, long AtimeSec, long AtimeNsec, long MtimeSec, long MtimeNsec, ulong Inode, ulong Device, long Size)
{
    public uint Type => Mode & PosixFs.TypeMask;

    public bool IsDirectory => Type == PosixFs.TypeDir;

    public bool IsSymlink => Type == PosixFs.TypeSymlink;
}
