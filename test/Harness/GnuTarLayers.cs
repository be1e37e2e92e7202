using Imageimportd.Unpack.Direct;

namespace Imageimportd.Tests.Harness;

/// <summary>
/// Layer tars written by GNU tar itself from files made on disk: sparse files in each of GNU tar's sparse encodings,
/// and files whose xattrs have binary values (a real <c>security.capability</c>), so direct apply is checked against
/// what a real tool writes, not only against our own tar writer.
/// </summary>
public static class GnuTarLayers
{
    /// <summary>GNU tar's PAX sparse encodings (<c>--format=posix --sparse-version=V</c>), which Go reads as regular files.</summary>
    public static readonly string[] SparseFormats = ["0.0", "0.1", "1.0"];

    /// <summary>GNU tar's default (<c>--format=gnu</c>) sparse encoding: old GNU type 'S' headers, which containerd refuses.</summary>
    public const string OldGnuSparse = "gnu";

    /// <summary>
    /// A v2 file capability (VFS_CAP_REVISION_2, effective): cap_setgid, cap_setuid, cap_net_bind_service,
    /// cap_sys_admin permitted. Its bytes include 0x00 and 0xC0, which are not text.
    /// </summary>
    public static readonly byte[] Capability = [0x01, 0x00, 0x00, 0x02, 0xC0, 0x04, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00];

    /// <summary>A user xattr value that is no UTF-8 at all.</summary>
    public static readonly byte[] BinaryUserValue = [0xFF, 0x00, 0xFE, 0x80, 0x0A, 0xC3];

    /// <summary>The sparse files (name, length, data regions) every sparse layer holds under its own directory.</summary>
    public static readonly (string Name, long Length, (long Offset, int Length)[] Data)[] SparseFiles =
    [
        ("middle", 64L << 20, [(1 << 20, 4096), (40L << 20, 70000)]),
        ("all-hole", 16L << 20, []),
        ("tail", 8L << 20, [((8L << 20) - 3, 3)]),
        ("head", 5L << 20, [(0, 100000)]),
        ("dense", 20000, [(0, 20000)]),
    ];

    /// <summary>
    /// GNU tar of a directory <c>sparse-FORMAT</c> holding <see cref="SparseFiles"/>, written with <c>--sparse</c>;
    /// FORMAT is one of <see cref="SparseFormats"/> or <see cref="OldGnuSparse"/>.
    /// </summary>
    public static async Task<byte[]> SparseAsync(string workDir, string format, CancellationToken cancellationToken = default)
    {
        var src = Path.Combine(workDir, "src-sparse-" + format);
        var dir = Path.Combine(src, "sparse-" + format);
        Directory.CreateDirectory(dir);
        foreach (var (name, length, data) in SparseFiles)
        {
            using var file = File.OpenHandle(Path.Combine(dir, name), FileMode.CreateNew, FileAccess.Write);
            RandomAccess.SetLength(file, length);
            foreach (var (offset, count) in data)
            {
                RandomAccess.Write(file, Pattern(offset, count), offset);
            }
        }

        string[] how = format == "gnu" ? ["--format=gnu"] : ["--format=posix", "--sparse-version=" + format, "--pax-option=delete=atime,delete=ctime"];
        return await TarAsync(src, ["--sparse", .. how], cancellationToken);
    }

    /// <summary>GNU tar (PAX, <c>--xattrs</c>) of <c>caps/ping</c> with <see cref="Capability"/> and <see cref="BinaryUserValue"/>.</summary>
    public static async Task<byte[]> CapabilityAsync(string workDir, CancellationToken cancellationToken = default)
    {
        var src = Path.Combine(workDir, "src-caps");
        Directory.CreateDirectory(Path.Combine(src, "caps"));
        var file = Path.Combine(src, "caps", "ping");
        File.WriteAllText(file, "#!/bin/sh\n");
        File.SetUnixFileMode(file, (UnixFileMode)0x1ED);
        PosixFs.SetXattr(file, "security.capability", Capability);
        PosixFs.SetXattr(file, "user.binary", BinaryUserValue);
        return await TarAsync(src, ["--format=posix", "--xattrs", "--xattrs-include=*", "--pax-option=delete=atime,delete=ctime"], cancellationToken);
    }

    /// <summary>The bytes a sparse file holds at <paramref name="offset"/>: not zero, different per offset.</summary>
    public static byte[] Pattern(long offset, int count)
    {
        var data = new byte[count];
        for (var i = 0; i < count; i++)
        {
            data[i] = (byte)(((offset + i) % 251) + 1);
        }

        return data;
    }

    private static Task<byte[]> TarAsync(string src, string[] how, CancellationToken cancellationToken) =>
        Tools.RunBytesAsync("tar", ["-C", src, .. how, "--numeric-owner", "--owner=0", "--group=0", "--mtime=@1650000000", "--sort=name", "-cf", "-", "."], Tools.DefaultTimeout, cancellationToken);
}
