namespace Imageimportd.Compression;

/// <summary>
/// A decoder that works only on what <see cref="BufferedInput"/> already holds, so one implementation serves both
/// synchronous and asynchronous reads: <see cref="PullDecoderStream"/> does the I/O between calls.
/// </summary>
internal interface IChunkDecoder : IDisposable
{
    /// <summary>True once the input ended cleanly at a frame or stream boundary.</summary>
    bool IsFinished { get; }

    /// <summary>
    /// Writes decoded bytes to <paramref name="destination"/> and returns how many. Returns 0 only when finished, or
    /// after <see cref="BufferedInput.Has"/> said more input is needed. Throws <see cref="InvalidDataException"/> on bad input.
    /// </summary>
    int Decode(Span<byte> destination);
}
