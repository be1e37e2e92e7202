namespace Imageimportd.Compression;

/// <summary>Decodes one LZ4 block (the sequence format inside frames and legacy streams), checking every bound.</summary>
internal static class Lz4Block
{
    private const int MaxLength = 16 << 20;

    /// <summary>
    /// Decodes <paramref name="source"/> into <paramref name="destination"/> starting at <paramref name="position"/>;
    /// matches may reach back to <paramref name="historyStart"/> (earlier blocks, for dependent blocks) but never
    /// past the end of <paramref name="destination"/>. Returns the end position.
    /// </summary>
    public static int Decode(ReadOnlySpan<byte> source, Span<byte> destination, int position, int historyStart)
    {
        var ip = 0;
        var op = position;
        var end = source.Length;
        while (true)
        {
            if (ip >= end)
            {
                throw Corrupt("a block ends in the middle of a sequence");
            }

            int token = source[ip++];
            var literals = token >> 4;
            if (literals == 15)
            {
                literals += ReadLength(source, ref ip);
            }

            if (literals > end - ip)
            {
                throw Corrupt("a literal run goes past the end of its block");
            }

            if (literals > destination.Length - op)
            {
                throw Corrupt("a block decodes to more than the block size");
            }

            if (literals <= 16 && end - ip >= 16 && destination.Length - op >= 16)
            {
                // Most runs are short: one fixed 16-byte copy (turned into two vector moves) beats a variable-length memmove;
                // the bytes past the run are overwritten by what follows.
                source.Slice(ip, 16).CopyTo(destination.Slice(op, 16));
            }
            else
            {
                source.Slice(ip, literals).CopyTo(destination[op..]);
            }

            ip += literals;
            op += literals;

            // The last sequence of a block has literals only.
            if (ip == end)
            {
                return op;
            }

            if (end - ip < 2)
            {
                throw Corrupt("a block ends inside a match offset");
            }

            var offset = source[ip] | (source[ip + 1] << 8);
            ip += 2;
            if (offset == 0 || offset > op - historyStart)
            {
                throw Corrupt("a match refers to data before the start of the window");
            }

            var length = token & 15;
            if (length == 15)
            {
                length += ReadLength(source, ref ip);
            }

            length += 4;
            if (length > destination.Length - op)
            {
                throw Corrupt("a block decodes to more than the block size");
            }

            var match = op - offset;
            if (offset >= length)
            {
                if (length <= 16 && destination.Length - op >= 16 && offset >= 16)
                {
                    destination.Slice(match, 16).CopyTo(destination.Slice(op, 16));
                }
                else
                {
                    destination.Slice(match, length).CopyTo(destination[op..]);
                }
            }
            else if (offset == 1)
            {
                destination.Slice(op, length).Fill(destination[match]);
            }
            else
            {
                // Overlapping match: the output repeats with period `offset`. Copying the already-written part doubles
                // it each round, and each copy is from strictly before where it writes.
                var to = op;
                var remaining = length;
                while (remaining > 0)
                {
                    var n = Math.Min(to - match, remaining);
                    destination.Slice(match, n).CopyTo(destination[to..]);
                    to += n;
                    remaining -= n;
                }
            }

            op += length;
        }
    }

    private static int ReadLength(ReadOnlySpan<byte> source, ref int ip)
    {
        var total = 0;
        int b;
        do
        {
            if (ip >= source.Length)
            {
                throw Corrupt("a block ends inside a length");
            }

            b = source[ip++];
            total += b;
            if (total > MaxLength)
            {
                // No block holds more than 8 MiB; stopping here also keeps the sum from overflowing.
                throw Corrupt("a length is longer than any block");
            }
        }
        while (b == 255);

        return total;
    }

    private static InvalidDataException Corrupt(string what) => new($"lz4: corrupt data ({what})");
}
