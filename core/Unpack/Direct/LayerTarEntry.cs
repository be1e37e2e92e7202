namespace Imageimportd.Unpack.Direct;

/// <summary>
/// One layer tar entry as Go's archive/tar hands it to containerd's applier: PAX records and GNU long names merged
/// in, a GNU sparse file already turned into its logical <see cref="Size"/> and the <see cref="Sparse"/> fragments its
/// stored data fills, xattr values as the raw bytes of their PAX records.
/// </summary>
internal sealed class LayerTarEntry
{
    public const byte Regular = (byte)'0';
    public const byte HardLink = (byte)'1';
    public const byte Symlink = (byte)'2';
    public const byte CharDevice = (byte)'3';
    public const byte BlockDevice = (byte)'4';
    public const byte Directory = (byte)'5';
    public const byte Fifo = (byte)'6';
    public const byte GlobalHeader = (byte)'g';

    /// <summary>Old GNU sparse file: read (<see cref="Sparse"/>), but Go leaves it this type and containerd refuses it.</summary>
    public const byte OldGnuSparse = (byte)'S';

    /// <summary>The type flag; '\0' (old regular file) already became <see cref="Regular"/> or <see cref="Directory"/>.</summary>
    public byte Type { get; init; }

    public required string Name { get; init; }

    public string LinkName { get; init; } = "";

    public long Mode { get; init; }

    public int Uid { get; init; }

    public int Gid { get; init; }

    /// <summary>The file's length; for a sparse file its real size, larger than the data stored.</summary>
    public long Size { get; init; }

    public long DevMajor { get; init; }

    public long DevMinor { get; init; }

    public (long Sec, long Nsec) Mtime { get; init; }

    /// <summary>From PAX <c>atime</c>, or a GNU/star header's access time; null when the entry has none.</summary>
    public (long Sec, long Nsec)? Atime { get; init; }

    /// <summary><c>SCHILY.xattr.NAME</c> records: NAME and the value's bytes exactly as stored (binary values too).</summary>
    public IReadOnlyList<KeyValuePair<string, byte[]>> Xattrs { get; init; } = [];

    /// <summary>
    /// For a GNU sparse file (PAX 0.0/0.1/1.0, or old GNU <see cref="OldGnuSparse"/>), the data regions in order: the stored data fills them one
    /// after the other and everything else up to <see cref="Size"/> is a hole. Null for a plain file.
    /// </summary>
    public IReadOnlyList<(long Offset, long Length)>? Sparse { get; init; }

    public bool IsRegular => Type == Regular;
}
