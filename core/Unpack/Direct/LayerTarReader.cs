using System.Buffers.Text;
using System.Globalization;
using System.Text;

namespace Imageimportd.Unpack.Direct;

/// <summary>
/// Reads a layer tar the way Go's archive/tar reads it for containerd's applier: V7, USTAR, PAX, GNU and star headers,
/// base-256 numbers, GNU long names, PAX records with values kept as bytes (a <c>SCHILY.xattr.security.capability</c>
/// value is a binary struct), and GNU sparse files in every encoding Go reads (old GNU 'S', PAX 0.0, 0.1, 1.0), each
/// given to the caller as its data regions so holes stay holes. A header Go rejects (bad checksum, bad number, sparse
/// map out of order or not matching the data) throws <see cref="InvalidDataException"/>.
/// The data of the current entry is lent out of the reader's own buffer (<see cref="ReadAsync"/>): no copy, no
/// allocation per chunk. The reader reads ahead into its buffer, past the end-of-archive blocks too; whoever needs
/// every byte of the stream (the diff ID) counts them as they are read from the stream, not from here.
/// </summary>
internal sealed class LayerTarReader
{
    private const int Block = 512;

    // Go's maxSpecialFileSize: a PAX header or GNU long name larger than this is refused, not buffered.
    private const int MaxSpecial = 1 << 20;

    // Bound on sparse regions of one file (each costs memory before any of its data is read).
    private const int MaxSparseRegions = 1 << 20;

    private const string XattrPrefix = "SCHILY.xattr.";

    private readonly Stream _stream;
    private readonly byte[] _buffer;
    private readonly byte[] _header = new byte[Block];
    private int _start;
    private int _end;
    private bool _eof;
    private long _remaining;
    private long _padding;
    private bool _finished;

    /// <param name="stream">The layer tar.</param>
    /// <param name="buffer">The reader's buffer, lent for the reader's lifetime (a multiple of 512 bytes, at least 1 KiB).</param>
    public LayerTarReader(Stream stream, byte[] buffer)
    {
        if (buffer.Length < Block * 2 || buffer.Length % Block != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(buffer));
        }

        _stream = stream;
        _buffer = buffer;
    }

    /// <summary>Stored data bytes of the current entry not yet read (for a sparse file, what fills its regions).</summary>
    public long Remaining => _remaining;

    /// <summary>
    /// The next entry, skipping what is left of the current one; null at the end of the archive (two zero blocks, or
    /// the stream ending where a header would start, as Go accepts).
    /// </summary>
    public async ValueTask<LayerTarEntry?> NextAsync(CancellationToken cancellationToken)
    {
        if (_finished)
        {
            return null;
        }

        await SkipAsync(_remaining, cancellationToken);
        var padding = _padding;
        _remaining = _padding = 0;
        if (!await TrySkipAsync(padding, cancellationToken))
        {
            // Go's reader takes a stream that ends in the last entry's padding as the end of the archive (umoci writes
            // such layers: data, then nothing), so containerd's applier does too.
            _finished = true;
            return null;
        }

        Dictionary<string, string>? pax = null;
        Dictionary<string, byte[]>? xattrs = null;
        string? longName = null;
        string? longLink = null;
        while (true)
        {
            if (!await FillAsync(Block, cancellationToken))
            {
                if (_start == _end)
                {
                    _finished = true;
                    return null;
                }

                throw new InvalidDataException("tar stream ends inside a header");
            }

            _buffer.AsSpan(_start, Block).CopyTo(_header);
            _start += Block;
            if (_header.AsSpan().IndexOfAnyExcept((byte)0) < 0)
            {
                // One zero block must be followed by another (or the end of the stream), as Go checks.
                if (!await FillAsync(Block, cancellationToken) || _buffer.AsSpan(_start, Block).IndexOfAnyExcept((byte)0) < 0)
                {
                    _start = Math.Min(_start + Block, _end);
                    _finished = true;
                    return null;
                }

                throw new InvalidDataException("tar header after a zero block");
            }

            var format = FormatOf(_header);
            var type = _header[156];
            var storedSize = Numeric(_header.AsSpan(124, 12), "size");
            if (storedSize < 0)
            {
                throw new InvalidDataException("tar header with a negative size");
            }

            switch (type)
            {
                case (byte)'x':
                    (pax, xattrs) = ParsePax(await ReadSpecialAsync(storedSize, cancellationToken));
                    continue;
                case (byte)'L':
                    longName = CString(await ReadSpecialAsync(storedSize, cancellationToken));
                    continue;
                case (byte)'K':
                    longLink = CString(await ReadSpecialAsync(storedSize, cancellationToken));
                    continue;
                case LayerTarEntry.GlobalHeader:
                    await ReadSpecialAsync(storedSize, cancellationToken);
                    return new LayerTarEntry { Type = type, Name = CString(_header.AsSpan(0, 100)) };
            }

            // The PAX size applies to the file header, never to the extended headers themselves.
            if (pax is not null && pax.TryGetValue("size", out var paxSize) && (storedSize = ParseDecimal(paxSize, "PAX size")) < 0)
            {
                throw new InvalidDataException("PAX size is negative");
            }

            return await EntryAsync(format, type, storedSize, pax, xattrs, longName, longLink, cancellationToken);
        }
    }

    /// <summary>
    /// The next piece of the current entry's stored data, at most <paramref name="max"/> bytes, lent from the reader's
    /// buffer until the next call; empty when the entry's data is all read. A stream that ends early throws.
    /// </summary>
    public async ValueTask<ReadOnlyMemory<byte>> ReadAsync(int max, CancellationToken cancellationToken)
    {
        if (_remaining == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        if (_start == _end && !await FillAsync(1, cancellationToken))
        {
            throw new InvalidDataException($"tar stream ends with {_remaining} bytes of an entry missing");
        }

        var n = (int)Math.Min(Math.Min(max, _end - _start), _remaining);
        var piece = _buffer.AsMemory(_start, n);
        _start += n;
        _remaining -= n;
        return piece;
    }

    private async ValueTask<LayerTarEntry> EntryAsync(
        TarFormat format, byte type, long storedSize, Dictionary<string, string>? pax, Dictionary<string, byte[]>? xattrs,
        string? longName, string? longLink, CancellationToken cancellationToken)
    {
        var h = _header.AsSpan();
        var name = CString(h[..100]);
        if (format is TarFormat.Ustar or TarFormat.Star)
        {
            var prefix = CString(format == TarFormat.Star ? h.Slice(345, 131) : h.Slice(345, 155));
            if (prefix.Length > 0)
            {
                name = prefix + "/" + name;
            }
        }

        var linkName = CString(h.Slice(157, 100));
        var mode = Numeric(h.Slice(100, 8), "mode");
        var uid = Numeric(h.Slice(108, 8), "uid");
        var gid = Numeric(h.Slice(116, 8), "gid");
        (long, long) mtime = (Numeric(h.Slice(136, 12), "mtime"), 0);
        (long, long)? atime = null;
        long devMajor = 0, devMinor = 0;
        if (format != TarFormat.V7 && type is LayerTarEntry.CharDevice or LayerTarEntry.BlockDevice)
        {
            devMajor = Numeric(h.Slice(329, 8), "devmajor");
            devMinor = Numeric(h.Slice(337, 8), "devminor");
        }

        if (format == TarFormat.Gnu && h[345] != 0 && TryNumeric(h.Slice(345, 12), out var gnuAtime))
        {
            atime = (gnuAtime, 0);
        }
        else if (format == TarFormat.Star)
        {
            atime = (Numeric(h.Slice(476, 12), "atime"), 0);
        }

        var size = storedSize;
        if (pax is not null)
        {
            foreach (var (key, value) in pax)
            {
                switch (key)
                {
                    case "path":
                        name = value;
                        break;
                    case "linkpath":
                        linkName = value;
                        break;
                    case "uid":
                        uid = ParseDecimal(value, "PAX uid");
                        break;
                    case "gid":
                        gid = ParseDecimal(value, "PAX gid");
                        break;
                    case "mtime":
                        mtime = ParsePaxTime(value);
                        break;
                    case "atime":
                        atime = ParsePaxTime(value);
                        break;
                }
            }
        }

        if (longName is not null)
        {
            name = longName;
        }

        if (longLink is not null)
        {
            linkName = longLink;
        }

        if (type == 0)
        {
            type = name.EndsWith('/') ? LayerTarEntry.Directory : LayerTarEntry.Regular;
        }

        // Header-only types carry no data, whatever their size field says (Go reads none).
        _remaining = type is >= LayerTarEntry.HardLink and <= LayerTarEntry.Fifo ? 0 : storedSize;
        _padding = (Block - (_remaining % Block)) % Block;

        IReadOnlyList<(long, long)>? sparse = null;
        if (type == LayerTarEntry.OldGnuSparse)
        {
            if (format != TarFormat.Gnu)
            {
                throw new InvalidDataException($"tar entry {name}: sparse type 'S' outside a GNU header");
            }

            size = Numeric(h.Slice(483, 12), "realsize");
            sparse = await OldGnuSparseAsync(cancellationToken);
        }
        else if (pax is not null && SparseVersion(pax) is { } version)
        {
            if (pax.TryGetValue("GNU.sparse.name", out var sparseName) && sparseName.Length > 0)
            {
                name = sparseName;
            }

            if ((pax.TryGetValue("GNU.sparse.size", out var real) && real.Length > 0) || (pax.TryGetValue("GNU.sparse.realsize", out real) && real.Length > 0))
            {
                size = ParseDecimal(real, "GNU.sparse.size");
            }

            sparse = version == "1.0" ? await SparseMap1x0Async(cancellationToken) : SparseMap0x1(pax);
        }

        if (sparse is not null)
        {
            if (type is >= LayerTarEntry.HardLink and <= LayerTarEntry.Fifo)
            {
                throw new InvalidDataException($"tar entry {name}: sparse map on a header-only entry");
            }

            CheckSparse(name, sparse, size, _remaining);

            // PAX sparse files are regular files to Go; an old GNU one keeps type 'S' (which containerd refuses).
            type = type == LayerTarEntry.OldGnuSparse ? type : LayerTarEntry.Regular;
        }

        return new LayerTarEntry
        {
            Type = type,
            Name = name,
            LinkName = linkName,
            Mode = mode,
            Uid = Id(uid, name),
            Gid = Id(gid, name),
            Size = size,
            DevMajor = devMajor,
            DevMinor = devMinor,
            Mtime = mtime,
            Atime = atime,
            Xattrs = xattrs is null ? [] : [.. xattrs],
            Sparse = sparse,
        };
    }

    /// <summary>"0.0", "0.1" or "1.0" when the PAX records describe a GNU sparse file, as Go decides it; else null.</summary>
    private static string? SparseVersion(Dictionary<string, string> pax)
    {
        pax.TryGetValue("GNU.sparse.major", out var major);
        pax.TryGetValue("GNU.sparse.minor", out var minor);
        return (major, minor) switch
        {
            ("0", "0" or "1") => "0.1",
            ("1", "0") => "1.0",
            _ when major is { Length: > 0 } || minor is { Length: > 0 } => null, // a version Go does not know: a plain file
            _ => pax.TryGetValue("GNU.sparse.map", out var map) && map.Length > 0 ? "0.1" : null,
        };
    }

    /// <summary>PAX 0.0 and 0.1: the regions as "offset,length,..." (0.0's repeated records joined by <see cref="ParsePax"/>).</summary>
    private static List<(long, long)> SparseMap0x1(Dictionary<string, string> pax)
    {
        var count = pax.TryGetValue("GNU.sparse.numblocks", out var n) ? ParseDecimal(n, "GNU.sparse.numblocks") : -1;
        var map = pax.GetValueOrDefault("GNU.sparse.map", "");
        var parts = map.Length == 0 ? [] : map.Split(',');
        if (count < 0 || count > MaxSparseRegions || parts.Length != 2 * count)
        {
            throw new InvalidDataException("GNU sparse map does not match GNU.sparse.numblocks");
        }

        var regions = new List<(long, long)>((int)count);
        for (var i = 0; i < parts.Length; i += 2)
        {
            regions.Add((ParseDecimal(parts[i], "sparse offset"), ParseDecimal(parts[i + 1], "sparse length")));
        }

        return regions;
    }

    /// <summary>PAX 1.0: the map is the first blocks of the data, decimal numbers one per line (count, then pairs).</summary>
    private async ValueTask<List<(long, long)>> SparseMap1x0Async(CancellationToken cancellationToken)
    {
        var text = new List<byte>();
        var newlines = 0;
        var next = 0;

        async ValueTask<long> Token()
        {
            while (newlines == 0)
            {
                if (_remaining < Block || !await FillAsync(Block, cancellationToken))
                {
                    throw new InvalidDataException("GNU sparse 1.0 map runs past the entry's data");
                }

                var block = _buffer.AsSpan(_start, Block);
                newlines += block.Count((byte)'\n');
                foreach (var b in block)
                {
                    text.Add(b);
                }

                _start += Block;
                _remaining -= Block;
            }

            var end = text.IndexOf((byte)'\n', next);
            var token = Encoding.ASCII.GetString([.. text[next..end]]);
            next = end + 1;
            newlines--;
            return ParseDecimal(token, "GNU sparse 1.0 map");
        }

        var count = await Token();
        if (count < 0 || count > MaxSparseRegions)
        {
            throw new InvalidDataException($"GNU sparse 1.0 map with {count} regions");
        }

        var regions = new List<(long, long)>((int)count);
        for (var i = 0; i < count; i++)
        {
            regions.Add((await Token(), await Token()));
        }

        _padding = (Block - (_remaining % Block)) % Block;
        return regions;
    }

    /// <summary>Old GNU 'S': four regions in the header, then 21 per extension block while "isextended" says more follow.</summary>
    private async ValueTask<List<(long, long)>> OldGnuSparseAsync(CancellationToken cancellationToken)
    {
        var regions = new List<(long, long)>();
        AddRegions(_header.AsSpan(386, 4 * 24), regions);
        var more = _header[482] != 0;
        while (more)
        {
            if (regions.Count > MaxSparseRegions || !await FillAsync(Block, cancellationToken))
            {
                throw new InvalidDataException("GNU sparse extension headers end early or never");
            }

            var block = _buffer.AsSpan(_start, Block);
            AddRegions(block[..(21 * 24)], regions);
            more = block[504] != 0;
            _start += Block;
        }

        return regions;
    }

    /// <summary>Adds the regions of one sparse array, up to the first empty slot (where GNU and Go stop reading it).</summary>
    private static void AddRegions(ReadOnlySpan<byte> array, List<(long, long)> regions)
    {
        for (var i = 0; i < array.Length; i += 24)
        {
            if (array[i] == 0)
            {
                return; // the caller still follows "isextended", as Go does
            }

            regions.Add((Numeric(array.Slice(i, 12), "sparse offset"), Numeric(array.Slice(i + 12, 12), "sparse length")));
        }
    }

    /// <summary>Go's validateSparseEntries, and that the regions add up to the data stored (Go's errMissData/errUnrefData).</summary>
    private static void CheckSparse(string name, IReadOnlyList<(long Offset, long Length)> regions, long size, long stored)
    {
        if (size < 0)
        {
            throw new InvalidDataException($"tar entry {name}: negative sparse file size");
        }

        long end = 0, total = 0;
        foreach (var (offset, length) in regions)
        {
            if (offset < 0 || length < 0 || offset > long.MaxValue - length || offset + length > size || offset < end)
            {
                throw new InvalidDataException($"tar entry {name}: invalid sparse region {offset}+{length} of {size} bytes");
            }

            end = offset + length;
            total += length;
        }

        if (total != stored)
        {
            throw new InvalidDataException($"tar entry {name}: sparse regions hold {total} bytes, the entry stores {stored}");
        }
    }

    /// <summary>PAX records, "LEN KEY=VALUE\n": text records by key, <c>SCHILY.xattr.*</c> values as raw bytes.</summary>
    private static (Dictionary<string, string>, Dictionary<string, byte[]>) ParsePax(ReadOnlySpan<byte> data)
    {
        var records = new Dictionary<string, string>(StringComparer.Ordinal);
        var xattrs = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var sparseMap = new List<string>();
        while (data.Length > 0)
        {
            var space = data.IndexOf((byte)' ');
            if (space <= 0 || !Utf8Parser.TryParse(data[..space], out int length, out var used) || used != space || length <= space + 1 || length > data.Length || data[length - 1] != '\n')
            {
                throw new InvalidDataException("malformed PAX record");
            }

            var record = data[(space + 1)..(length - 1)];
            data = data[length..];
            var eq = record.IndexOf((byte)'=');
            if (eq <= 0)
            {
                throw new InvalidDataException("malformed PAX record");
            }

            var key = Encoding.UTF8.GetString(record[..eq]);
            var value = record[(eq + 1)..];
            if (key.StartsWith(XattrPrefix, StringComparison.Ordinal))
            {
                // Go keeps the value's bytes as they are; only a NUL in the key is invalid.
                xattrs[key[XattrPrefix.Length..]] = value.ToArray();
                continue;
            }

            if (key.Contains('\0') || (key is "path" or "linkpath" or "uname" or "gname" && value.Contains((byte)0)))
            {
                throw new InvalidDataException($"PAX record {key} holds a NUL");
            }

            var text = Encoding.UTF8.GetString(value);
            if (key is "GNU.sparse.offset" or "GNU.sparse.numbytes")
            {
                // Sparse 0.0 repeats offset and numbytes, in that order; Go joins them into one map.
                var expected = sparseMap.Count % 2 == 0 ? "GNU.sparse.offset" : "GNU.sparse.numbytes";
                if (key != expected || text.Contains(','))
                {
                    throw new InvalidDataException("GNU sparse 0.0 records out of order");
                }

                sparseMap.Add(text);
                continue;
            }

            records[key] = text;
        }

        if (sparseMap.Count > 0)
        {
            records["GNU.sparse.map"] = string.Join(',', sparseMap);
        }

        return (records, xattrs);
    }

    /// <summary>A PAX header or GNU long name: read whole, bounded.</summary>
    private async ValueTask<byte[]> ReadSpecialAsync(long size, CancellationToken cancellationToken)
    {
        if (size > MaxSpecial)
        {
            throw new InvalidDataException($"tar extended header of {size} bytes (limit {MaxSpecial})");
        }

        var data = new byte[size];
        var read = 0;
        while (read < size)
        {
            if (_start == _end && !await FillAsync(1, cancellationToken))
            {
                throw new InvalidDataException("tar stream ends inside an extended header");
            }

            var n = Math.Min((int)size - read, _end - _start);
            _buffer.AsSpan(_start, n).CopyTo(data.AsSpan(read));
            _start += n;
            read += n;
        }

        await SkipAsync((Block - (size % Block)) % Block, cancellationToken);
        return data;
    }

    /// <summary>Makes <paramref name="count"/> bytes available from <c>_start</c>; false when the stream ends first.</summary>
    private async ValueTask<bool> FillAsync(int count, CancellationToken cancellationToken)
    {
        if (_end - _start >= count)
        {
            return true;
        }

        if (_start == _end)
        {
            _start = _end = 0;
        }
        else if (_buffer.Length - _start < count)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }

        while (_end - _start < count && !_eof)
        {
            var n = await _stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
            if (n == 0)
            {
                _eof = true;
            }

            _end += n;
        }

        return _end - _start >= count;
    }

    private async ValueTask SkipAsync(long count, CancellationToken cancellationToken)
    {
        if (!await TrySkipAsync(count, cancellationToken))
        {
            throw new InvalidDataException("tar stream ends inside an entry");
        }
    }

    /// <summary>Skips <paramref name="count"/> bytes; false when the stream ends first.</summary>
    private async ValueTask<bool> TrySkipAsync(long count, CancellationToken cancellationToken)
    {
        while (count > 0)
        {
            if (_start == _end && !await FillAsync(1, cancellationToken))
            {
                return false;
            }

            var n = (int)Math.Min(count, _end - _start);
            _start += n;
            count -= n;
        }

        return true;
    }

    private static TarFormat FormatOf(ReadOnlySpan<byte> h)
    {
        var expected = Octal(h.Slice(148, 8), out var ok);
        long unsigned = 0, signed = 0;
        for (var i = 0; i < Block; i++)
        {
            var b = i is >= 148 and < 156 ? (byte)' ' : h[i];
            unsigned += b;
            signed += (sbyte)b;
        }

        if (!ok || (expected != unsigned && expected != signed))
        {
            throw new InvalidDataException("tar header checksum mismatch");
        }

        var magic = h.Slice(257, 6);
        if (magic.SequenceEqual("ustar\0"u8))
        {
            return h.Slice(508, 4).SequenceEqual("tar\0"u8) ? TarFormat.Star : TarFormat.Ustar;
        }

        return magic.SequenceEqual("ustar "u8) && h.Slice(263, 2).SequenceEqual(" \0"u8) ? TarFormat.Gnu : TarFormat.V7;
    }

    private static int Id(long id, string name) =>
        id is >= 0 and <= int.MaxValue ? (int)id : throw new InvalidDataException($"tar entry {name}: owner id {id} out of range");

    private static long Numeric(ReadOnlySpan<byte> field, string what) =>
        TryNumeric(field, out var value) ? value : throw new InvalidDataException($"tar header with an invalid {what} field");

    /// <summary>Go's parseNumeric: base-256 when the high bit is set (two's complement), else octal.</summary>
    private static bool TryNumeric(ReadOnlySpan<byte> field, out long value)
    {
        if (field.Length > 0 && (field[0] & 0x80) != 0)
        {
            var inv = (field[0] & 0x40) != 0 ? (byte)0xFF : (byte)0;
            ulong x = 0;
            for (var i = 0; i < field.Length; i++)
            {
                var c = (byte)(field[i] ^ inv);
                if (i == 0)
                {
                    c &= 0x7F;
                }

                if ((x >> 56) > 0)
                {
                    value = 0;
                    return false;
                }

                x = (x << 8) | c;
            }

            value = (long)x;
            if ((x >> 63) > 0)
            {
                return false;
            }

            value = inv == 0xFF ? ~value : value;
            return true;
        }

        value = Octal(field, out var ok);
        return ok;
    }

    private static long Octal(ReadOnlySpan<byte> field, out bool ok)
    {
        field = field.Trim(" \0"u8);
        var nul = field.IndexOf((byte)0);
        if (nul >= 0)
        {
            field = field[..nul];
        }

        ulong x = 0;
        ok = true;
        foreach (var c in field)
        {
            if (c is < (byte)'0' or > (byte)'7' || (x >> 61) > 0)
            {
                ok = false;
                return 0;
            }

            x = (x << 3) | (uint)(c - '0');
        }

        return (long)x;
    }

    private static long ParseDecimal(string text, string what) =>
        long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new InvalidDataException($"tar {what} is not a number: {text}");

    /// <summary>A PAX time, "seconds[.fraction]", to the nanosecond.</summary>
    private static (long, long) ParsePaxTime(string text)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        var whole = dot < 0 ? text : text[..dot];
        var fraction = dot < 0 ? "" : text[(dot + 1)..];
        if (!long.TryParse(whole, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var sec) || !fraction.All(char.IsAsciiDigit))
        {
            throw new InvalidDataException($"PAX time is not a number: {text}");
        }

        var nsec = fraction.Length == 0 ? 0 : long.Parse(fraction.PadRight(9, '0')[..9], CultureInfo.InvariantCulture);
        if (whole.StartsWith('-') && nsec != 0)
        {
            sec--;
            nsec = 1_000_000_000 - nsec;
        }

        return (sec, nsec);
    }

    private static string CString(ReadOnlySpan<byte> field)
    {
        var nul = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(nul < 0 ? field : field[..nul]);
    }

    private enum TarFormat
    {
        V7,
        Ustar,
        Gnu,
        Star,
    }
}
