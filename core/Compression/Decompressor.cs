using System.Buffers.Binary;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace Imageimportd.Compression;

/// <summary>Recognises a compressed input by its first bytes and decodes it as a stream.</summary>
public static class Decompressor
{
    /// <summary>
    /// How many leading bytes <see cref="Detect"/> looks at. Six tell every format apart; the rest confirm bzip2, whose
    /// "BZh1".."BZh9" magic is plain ASCII that an uncompressed tar could start with.
    /// </summary>
    public const int HeaderLength = 10;

    private const uint ZstdMagic = 0xFD2FB528;
    private const uint Lz4FrameMagic = 0x184D2204;
    private const uint Lz4LegacyMagic = 0x184C2102;
    private const uint SkippableMagic = 0x184D2A50;
    private const uint SkippableMagicMask = 0xFFFFFFF0;

    private static ReadOnlySpan<byte> XzMagic => [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00];

    private static ReadOnlySpan<byte> Bzip2BlockMagic => [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];

    private static ReadOnlySpan<byte> Bzip2EndMagic => [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];

    /// <summary>
    /// Identifies the compression of a stream by its magic bytes (never by file name), from up to
    /// <see cref="HeaderLength"/> leading bytes. A skippable frame, which zstd and lz4 share, is reported as
    /// <see cref="CompressionKind.Zstd"/>; <see cref="OpenAsync"/> looks past it. Too short or unknown input is
    /// <see cref="CompressionKind.None"/>.
    /// </summary>
    public static CompressionKind Detect(ReadOnlySpan<byte> header)
    {
        if (header.Length >= 3 && header[0] == 0x1F && header[1] == 0x8B && header[2] == 8)
        {
            return CompressionKind.Gzip;
        }

        if (header.StartsWith(XzMagic))
        {
            return CompressionKind.Xz;
        }

        if (header.Length < 4)
        {
            return CompressionKind.None;
        }

        var magic = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (magic == ZstdMagic || (magic & SkippableMagicMask) == SkippableMagic)
        {
            return CompressionKind.Zstd;
        }

        if (magic == Lz4FrameMagic || magic == Lz4LegacyMagic)
        {
            return CompressionKind.Lz4;
        }

        if (header[0] == 'B' && header[1] == 'Z' && header[2] == 'h' && header[3] is >= (byte)'1' and <= (byte)'9')
        {
            // With the full header, require a block or end-of-stream marker after the magic.
            if (header.Length < HeaderLength)
            {
                return CompressionKind.Bzip2;
            }

            var next = header.Slice(4, 6);
            return next.SequenceEqual(Bzip2BlockMagic) || next.SequenceEqual(Bzip2EndMagic) ? CompressionKind.Bzip2 : CompressionKind.None;
        }

        return CompressionKind.None;
    }

    /// <summary>
    /// Reads the first bytes of <paramref name="input"/>, picks the decoder by magic, and returns a forward-only stream
    /// of decompressed bytes. The returned stream owns <paramref name="input"/> (which is disposed if this throws).
    /// Uncompressed input is returned as is, the peeked bytes put back in front.
    /// </summary>
    public static async ValueTask<DecompressedStream> OpenAsync(Stream input, DecompressionOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxWindowBytes, 1024L, nameof(options));

        var buffered = new BufferedInput(input);
        try
        {
            await buffered.FillAsync(HeaderLength, cancellationToken);
            var kind = Detect(buffered.Data);
            if (kind == CompressionKind.Zstd && buffered.Available >= 4 && IsSkippable(buffered.PeekUInt32(0)))
            {
                kind = await SkipLeadingSkippableFramesAsync(buffered, cancellationToken);
            }

            buffered.FormatName = kind.DisplayName();
            Stream decoder = kind switch
            {
                CompressionKind.Gzip => GzipSupport.Open(buffered),
                CompressionKind.Zstd => OpenZstd(buffered, options.MaxWindowBytes),
                CompressionKind.Bzip2 => new Bzip2DecoderStream(buffered),
                CompressionKind.Lz4 => new PullDecoderStream(new Lz4Decoder(buffered), buffered),
                CompressionKind.Xz => new PullDecoderStream(new XzDecoder(buffered, options.MaxWindowBytes), buffered),
                _ => buffered,
            };
            return new DecompressedStream(kind, decoder, buffered, options.MaxWindowBytes);
        }
        catch
        {
            await buffered.DisposeAsync();
            throw;
        }
    }

    private static bool IsSkippable(uint magic) => (magic & SkippableMagicMask) == SkippableMagic;

    // A skippable frame says nothing about the format of what follows, so step over it and look at the next frame.
    private static async ValueTask<CompressionKind> SkipLeadingSkippableFramesAsync(BufferedInput input, CancellationToken cancellationToken)
    {
        input.FormatName = "zstd";
        while (true)
        {
            if (!await input.FillAsync(8, cancellationToken))
            {
                throw input.Truncated();
            }

            var size = input.PeekUInt32(4);
            input.Consume(8);
            if (!await input.SkipAsync(size, cancellationToken))
            {
                throw input.Truncated();
            }

            await input.FillAsync(HeaderLength, cancellationToken);
            if (input.IsExhausted)
            {
                // Nothing but skippable frames: valid, and empty.
                return CompressionKind.Zstd;
            }

            if (input.Available >= 4 && IsSkippable(input.PeekUInt32(0)))
            {
                continue;
            }

            var kind = Detect(input.Data);
            if (kind is CompressionKind.Zstd or CompressionKind.Lz4)
            {
                return kind;
            }

            throw new InvalidDataException("zstd: a skippable frame is followed by data that is neither zstd nor lz4");
        }
    }

    private static DecompressionStream OpenZstd(BufferedInput input, long maxWindow)
    {
        var checkedInput = new ZstdFrameCheckingStream(input, maxWindow);
        var zstd = new DecompressionStream(checkedInput, bufferSize: 0, checkEndOfStream: true, leaveOpen: true);

        // The frame check above refuses large windows with a precise message; this is the decoder's own backstop.
        // zstd accepts window logs 10..31; rounding up keeps every window the check allows.
        var windowLog = Math.Clamp(64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)maxWindow - 1), 10, 31);
        zstd.SetParameter(ZSTD_dParameter.ZSTD_d_windowLogMax, windowLog);
        return zstd;
    }
}
