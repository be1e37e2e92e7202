using System.Buffers.Binary;
using Imageimportd.Compression;

namespace Imageimportd.Archive;

/// <summary>
/// Follows the tar stream's 512-byte header blocks as they pass to <see cref="System.Formats.Tar.TarReader"/> and
/// refuses a metadata header (GNU long name <c>L</c> / long link <c>K</c>, PAX <c>x</c> / <c>g</c> records) larger than
/// <see cref="ArchiveLimits.MaxTarHeaderBytes"/> before the reader allocates a buffer of the size it declares: a
/// 400 MB long name would otherwise cost gigabytes. It tracks entry sizes as the reader does (the PAX <c>size</c>
/// record overrides the header's). A block it cannot make sense of (bad checksum) stops the guarding — the reader
/// refuses such an archive itself — so it never refuses an archive the reader would accept for any other reason.
/// </summary>
internal sealed class TarHeaderGuardStream(Stream inner, long maxHeaderBytes) : ReadOnlyStream
{
    private const int Block = 512;
    private readonly byte[] _header = new byte[Block];
    private int _headerFill;
    private long _skip;
    private byte[]? _pax;
    private int _paxFill;
    private long? _pendingSize;
    private bool _disabled;

    /// <summary>Bytes passed through so far.</summary>
    public long BytesSeen { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Observe(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken);
        Observe(buffer.Span[..n]);
        return n;
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Observe(ReadOnlySpan<byte> data)
    {
        BytesSeen += data.Length;
        while (!data.IsEmpty && !_disabled)
        {
            if (_skip > 0)
            {
                var take = (int)Math.Min(_skip, data.Length);
                if (_pax is not null && _paxFill < _pax.Length)
                {
                    var copy = Math.Min(take, _pax.Length - _paxFill);
                    data[..copy].CopyTo(_pax.AsSpan(_paxFill));
                    _paxFill += copy;
                    if (_paxFill == _pax.Length)
                    {
                        ReadPaxSize(_pax);
                        _pax = null;
                    }
                }

                _skip -= take;
                data = data[take..];
                continue;
            }

            var part = Math.Min(Block - _headerFill, data.Length);
            data[..part].CopyTo(_header.AsSpan(_headerFill));
            _headerFill += part;
            data = data[part..];
            if (_headerFill == Block)
            {
                _headerFill = 0;
                OnHeader();
            }
        }
    }

    private void OnHeader()
    {
        if (_header.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            return; // End-of-archive blocks.
        }

        if (!ChecksumMatches() || ParseNumber(_header.AsSpan(124, 12)) is not { } size || size < 0)
        {
            _disabled = true;
            return;
        }

        var type = (char)_header[156];
        switch (type)
        {
            case 'L' or 'K' or 'x' or 'g' or 'X':
                if (size > maxHeaderBytes)
                {
                    var what = type switch
                    {
                        'L' => "GNU long name",
                        'K' => "GNU long link name",
                        'g' => "PAX global header",
                        _ => "PAX extended header",
                    };
                    throw new InvalidDataException($"a tar {what} of {size} bytes is over the {maxHeaderBytes >> 10} KiB limit for tar headers");
                }

                if (type is 'x' or 'X')
                {
                    _pax = new byte[size];
                    _paxFill = 0;
                    if (size == 0)
                    {
                        _pax = null;
                    }
                }

                _skip = RoundUp(size);
                break;
            default:
                _skip = RoundUp(_pendingSize ?? size);
                _pendingSize = null;
                break;
        }
    }

    /// <summary>PAX records are <c>"LEN key=value\n"</c>; only <c>size</c> matters here (it overrides the next header's).</summary>
    private void ReadPaxSize(ReadOnlySpan<byte> records)
    {
        while (!records.IsEmpty)
        {
            var space = records.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(records[..space], out var length) || length <= space || length > records.Length)
            {
                _disabled = true;
                return;
            }

            var record = records[(space + 1)..length];
            if (record.StartsWith("size="u8))
            {
                var value = record["size=".Length..].TrimEnd((byte)'\n');
                _pendingSize = long.TryParse(value, out var s) ? s : null;
                if (_pendingSize is null)
                {
                    _disabled = true;
                    return;
                }
            }

            records = records[length..];
        }
    }

    private bool ChecksumMatches()
    {
        if (ParseNumber(_header.AsSpan(148, 8)) is not { } stored)
        {
            return false;
        }

        long sum = 0;
        for (var i = 0; i < Block; i++)
        {
            sum += i is >= 148 and < 156 ? ' ' : _header[i];
        }

        return sum == stored;
    }

    /// <summary>A tar number: octal text (NUL/space padded), or GNU base-256 when the high bit is set.</summary>
    private static long? ParseNumber(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) != 0)
        {
            if ((field[0] & 0x7F) != 0 || field[1..^8].IndexOfAnyExcept((byte)0) >= 0)
            {
                return null; // Negative, or more than 64 bits.
            }

            return BinaryPrimitives.ReadInt64BigEndian(field[^8..]) is var v && v >= 0 ? v : null;
        }

        long value = 0;
        var digits = 0;
        foreach (var b in field)
        {
            if (b is (byte)' ' or 0)
            {
                if (digits > 0)
                {
                    break;
                }

                continue;
            }

            if (b is < (byte)'0' or > (byte)'7')
            {
                return null;
            }

            value = (value << 3) + (b - '0');
            digits++;
        }

        return value;
    }

    private static long RoundUp(long size) => size > long.MaxValue - Block ? long.MaxValue : (size + Block - 1) / Block * Block;
}
