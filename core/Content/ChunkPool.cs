using System.Buffers;

namespace Imageimportd.Content;

/// <summary>
/// The pool of the megabyte buffers that blob bytes stream through (content writes, the direct applier's reads).
/// Not <see cref="ArrayPool{T}.Shared"/>: that pool keeps arrays per thread and per core, and the async continuations
/// that return these buffers run on whichever pool thread is free, so what it keeps grows with the threads that touched
/// them. This one keeps at most <see cref="Kept"/> per size, whichever thread returns them: the megabytes an import
/// holds on the large-object heap (which counts in its peak RSS) are bounded.
/// </summary>
public static class ChunkPool
{
    /// <summary>Arrays kept per size: two for the content write's double buffer, one for the applier, one spare.</summary>
    public const int Kept = 4;

    /// <summary>The pool; buffers over 1 MiB are allocated and dropped, not kept.</summary>
    public static ArrayPool<byte> Shared { get; } = ArrayPool<byte>.Create(1 << 20, Kept);
}
