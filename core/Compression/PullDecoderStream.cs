namespace Imageimportd.Compression;

/// <summary>Runs an <see cref="IChunkDecoder"/> as a forward-only stream, filling its input between calls.</summary>
internal sealed class PullDecoderStream : ReadOnlyStream
{
    private readonly IChunkDecoder _decoder;
    private readonly BufferedInput _input;

    public PullDecoderStream(IChunkDecoder decoder, BufferedInput input)
    {
        _decoder = decoder;
        _input = input;
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

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _decoder.Dispose();
        }

        base.Dispose(disposing);
    }
}
