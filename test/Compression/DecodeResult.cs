using Imageimportd.Compression;

namespace Imageimportd.Tests.Compression;

/// <summary>What reading a whole <see cref="DecompressedStream"/> gave.</summary>
internal sealed record DecodeResult(CompressionKind Kind, byte[] Data, long CompressedBytesRead);
