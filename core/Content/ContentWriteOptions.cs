namespace Imageimportd.Content;

/// <summary>How blobs are cut and overlapped on their way into the store.</summary>
public sealed record ContentWriteOptions
{
    /// <summary>
    /// Bytes per write message: well under containerd's 16 MiB gRPC message limit, and a kilobyte under 1 MiB so the
    /// framed message (gRPC's 5-byte prefix, the request's other fields) still fits the 1 MiB arrays the gRPC client
    /// serializes it into. At exactly 1 MiB it took 2 MiB ones from <see cref="System.Buffers.ArrayPool{T}.Shared"/>,
    /// which kept several per thread: after a 1 GiB import the large-object heap held 22-26 MiB, at this size 15-16.
    /// </summary>
    public int ChunkBytes { get; init; } = (1 << 20) - 1024;

    /// <summary>Blobs whose commit may still be pending while the reader moves on.</summary>
    public int MaxBlobsInFlight { get; init; } = 4;

    /// <summary>Keep a write session opened ahead for the next blob whose digest is known (see <see cref="ContentWriteStage"/>).</summary>
    public bool OpenAhead { get; init; } = true;

    public static ContentWriteOptions Default { get; } = new();
}
