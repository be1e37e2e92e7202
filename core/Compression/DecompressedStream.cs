using ICSharpCode.SharpZipLib;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace Imageimportd.Compression;

/// <summary>
/// The decompressed bytes of an input, read forward only. It owns the input stream. Bad compressed data surfaces as
/// <see cref="InvalidDataException"/> whose message starts with the format's name and says what is wrong.
/// </summary>
public sealed class DecompressedStream : ReadOnlyStream
{
    private readonly Stream _decoder;
    private readonly BufferedInput _input;
    private readonly long _maxWindow;
    private bool _disposed;

    internal DecompressedStream(CompressionKind kind, Stream decoder, BufferedInput input, long maxWindow)
    {
        Kind = kind;
        _decoder = decoder;
        _input = input;
        _maxWindow = maxWindow;
    }

    /// <summary>The format the input was found to be in.</summary>
    public CompressionKind Kind { get; }

    /// <summary>
    /// Bytes read from the underlying (compressed) input so far, for progress reporting. This includes what the decoder
    /// has buffered ahead (up to a few MiB), and equals the input's length once the end is reached.
    /// </summary>
    public long CompressedBytesRead => _input.BytesRead;

    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            return _decoder.Read(buffer);
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    public override int ReadByte()
    {
        Span<byte> one = stackalloc byte[1];
        return Read(one) == 1 ? one[0] : -1;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        try
        {
            return await _decoder.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            try
            {
                _decoder.Dispose();
            }
            finally
            {
                _input.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            try
            {
                await _decoder.DisposeAsync();
            }
            finally
            {
                await _input.DisposeAsync();
            }
        }

        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    // Turns what the library decoders throw into InvalidDataException naming the format. Errors from the input
    // itself (I/O, cancellation) and our own decoders' messages pass through untouched.
    private InvalidDataException? Translate(Exception e)
    {
        var name = Kind.DisplayName();
        switch (e)
        {
            case InvalidDataException when e.Message.StartsWith(name + ":", StringComparison.Ordinal):
                return null;
            case InvalidDataException when e.Message.Contains("truncated", StringComparison.OrdinalIgnoreCase):
            case EndOfStreamException when _input.Fault is null:
                return new InvalidDataException($"{name}: unexpected end of stream (the input is truncated)", e);
            case InvalidDataException:
                return new InvalidDataException($"{name}: corrupt data ({e.Message})", e);
            case ZstdException zstd:
                return new InvalidDataException(DescribeZstd(zstd), e);
            case SharpZipBaseException:
                return new InvalidDataException($"{name}: corrupt data ({e.Message})", e);

            // SharpZipLib's bzip2 decoder was not written for hostile input; garbage can trip its array bounds.
            case IndexOutOfRangeException or ArgumentException or OverflowException when Kind == CompressionKind.Bzip2:
                return new InvalidDataException($"{name}: corrupt data ({e.GetType().Name})", e);
            default:
                return null;
        }
    }

    private string DescribeZstd(ZstdException e) => e.Code switch
    {
        ZSTD_ErrorCode.ZSTD_error_frameParameter_windowTooLarge =>
            $"zstd: frame window exceeds the {ByteSizeText.Format(_maxWindow)} limit",
        ZSTD_ErrorCode.ZSTD_error_checksum_wrong => "zstd: checksum mismatch (corrupt data)",
        ZSTD_ErrorCode.ZSTD_error_dictionary_wrong => "zstd: frames that need a dictionary are not supported",
        ZSTD_ErrorCode.ZSTD_error_prefix_unknown => "zstd: unknown frame magic",
        _ => $"zstd: corrupt data ({e.Message})",
    };
}
