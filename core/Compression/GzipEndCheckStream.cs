using System.Buffers.Binary;
using System.IO.Hashing;

namespace Imageimportd.Compression;

/// <summary>
/// The fallback truncation check when the runtime's strict gzip validation is off: at the end, the last 8 bytes of the
/// input must be the trailer (CRC32 and size) of everything decoded. That proves a single-member file complete; a
/// multi-member file cannot be told from a truncated one this way, so it is refused with an explanation rather than
/// risking a silent short read.
/// </summary>
internal sealed class GzipEndCheckStream : ReadOnlyStream
{
    private readonly Stream _gzip;
    private readonly BufferedInput _input;
    private readonly Crc32 _crc = new();
    private long _length;
    private bool _checked;

    public GzipEndCheckStream(Stream gzip, BufferedInput input)
    {
        _gzip = gzip;
        _input = input;
    }

    public override int Read(Span<byte> buffer) => Account(buffer, _gzip.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await _gzip.ReadAsync(buffer, cancellationToken);
        return Account(buffer.Span, read);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _gzip.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Account(Span<byte> buffer, int read)
    {
        if (read > 0)
        {
            _crc.Append(buffer[..read]);
            _length += read;
        }
        else if (!buffer.IsEmpty && !_checked)
        {
            _checked = true;
            var tail = _input.Tail;
            if (_input.BytesRead < 18
                || BinaryPrimitives.ReadUInt32LittleEndian(tail) != _crc.GetCurrentHashAsUInt32()
                || BinaryPrimitives.ReadUInt32LittleEndian(tail[4..]) != (uint)_length)
            {
                throw new InvalidDataException(
                    "gzip: unexpected end of stream (the input is truncated, or has several members, which can only be "
                    + $"verified with the runtime switch {GzipSupport.StrictValidationSwitch} on)");
            }
        }

        return read;
    }
}
