using Imageimportd.Compression;
using Imageimportd.Scan;

namespace Imageimportd.Import;

/// <summary>
/// A plain archive whose size on disk is a small part of its length is mostly holes: it reads as gigabytes of zeros
/// (blobs containerd would store in full) while costing its writer nothing. Compressed archives are bounded by the
/// expansion limit instead; a plain one has no such ratio, so the file system's allocation is the check.
/// </summary>
public static class SparseFiles
{
    /// <summary>Plain archives up to this length are never refused (small files may live in inline data).</summary>
    public const long CheckAboveBytes = 64L << 20;

    /// <summary>Refused when the allocated bytes are under 1/<see cref="MinAllocatedFraction"/> of the length.</summary>
    public const long MinAllocatedFraction = 8;

    public static void ThrowIfSparse(FileStat status, CompressionKind kind)
    {
        if (kind == CompressionKind.None && status.Size > CheckAboveBytes && status.AllocatedBytes < status.Size / MinAllocatedFraction)
        {
            throw new InvalidDataException(
                $"sparse file: {status.Size >> 20} MiB long but only {status.AllocatedBytes >> 20} MiB on disk; a plain archive of holes is refused");
        }
    }
}
