namespace Imageimportd.Content;

/// <summary>How blobs are cut and overlapped on their way into the store.</summary>
public sealed record ContentWriteOptions
{
    /// <summary>Bytes per write message: well under containerd's 16 MiB gRPC message limit.</summary>
    public int ChunkBytes { get; init; } = 1 << 20;

    /// <summary>Blobs whose commit may still be pending while the reader moves on.</summary>
    public int MaxBlobsInFlight { get; init; } = 4;

    /// <summary>Keep a write session opened ahead for the next blob whose digest is known (see <see cref="ContentWriteStage"/>).</summary>
    public bool OpenAhead { get; init; } = true;

    public static ContentWriteOptions Default { get; } = new();
}
