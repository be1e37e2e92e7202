namespace Imageimportd.Compression;

/// <summary>Runs an <see cref="IChunkDecoder"/> as a forward-only stream, filling its input between calls.</summary>
internal sealed class PullDecoderStream : Stream
{
    private readonly IChunkDecoder _decoder;
    private readonly BufferedInput _input;

    public PullDecoderStream(IChunkDecoder decoder, BufferedInput input)
    {
        _decoder = decoder;
        _input = input;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        ValidateBufferArguments(buffer, offset, count);
        return Read(buffer.AsSpan(offset, count));
    }

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            var n = _decoder.Decode(buffer);
            if (n > 0 || _decoder.IsFinished)
            {
                return n;
            }

            _input.FillRequested();
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        ValidateBufferArguments(buffer, offset, count);
        return ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var n = _decoder.Decode(buffer.Span);
            if (n > 0 || _decoder.IsFinished)
            {
                return n;
            }

            await _input.FillRequestedAsync(cancellationToken);
        }
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _decoder.Dispose();
        }

        base.Dispose(disposing);
    }
}
