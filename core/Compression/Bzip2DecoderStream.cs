using System.Runtime.ExceptionServices;
using ICSharpCode.SharpZipLib.BZip2;

namespace Imageimportd.Compression;

/// <summary>
/// bzip2 through SharpZipLib, one <see cref="BZip2InputStream"/> per stream: SharpZipLib stops after the first stream,
/// while pbzip2 and <c>cat a.bz2 b.bz2</c> produce several. SharpZipLib reads its input a byte at a time and never
/// past the end of a stream, so the next stream starts exactly where the previous one stopped.
/// </summary>
internal sealed class Bzip2DecoderStream : ReadOnlyStream
{
    // SharpZipLib decodes synchronously. Before each call on the async path the input is read ahead by a block's
    // worth (a 900 kB block compresses to less, short of hostile input), and each call asks for at most one block of
    // output, so the call rarely has to wait for I/O; when it must, it blocks, which is correct, just not async.
    private const int ReadAhead = 1 << 20;
    private const int MaxOutputPerCall = 900_000;

    private readonly BufferedInput _input;
    private BZip2InputStream? _current;
    private bool _started;
    private bool _finished;

    public Bzip2DecoderStream(BufferedInput input) => _input = input;

    public override int Read(Span<byte> buffer)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        try
        {
            while (!_finished)
            {
                if (_current is null && !StartStream())
                {
                    _finished = true;
                    break;
                }

                var n = _current!.Read(buffer);
                if (n > 0)
                {
                    return n;
                }

                _current.Dispose();
                _current = null;
            }

            return 0;
        }
        catch (EndOfStreamException) when (_input.Fault is { } fault)
        {
            // SharpZipLib reports any failure to read as the end of the data; surface the real one.
            ExceptionDispatchInfo.Capture(fault).Throw();
            throw;
        }
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (!_finished)
        {
            await _input.FillAsync(ReadAhead, cancellationToken);
        }

        return Read(buffer.Span[..Math.Min(buffer.Length, MaxOutputPerCall)]);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
        }

        base.Dispose(disposing);
    }

    private bool StartStream()
    {
        _input.Fill(4);
        if (_started && _input.IsExhausted)
        {
            return false;
        }

        var data = _input.Data;
        if (data.Length < 4 || data[0] != 'B' || data[1] != 'Z' || data[2] != 'h' || data[3] < '1' || data[3] > '9')
        {
            throw _started && data.Length >= 4
                ? new InvalidDataException("bzip2: unexpected data after the end of a stream")
                : _input.Truncated();
        }

        _started = true;
        _current = new BZip2InputStream(_input) { IsStreamOwner = false };
        return true;
    }
}
