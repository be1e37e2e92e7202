using System.Formats.Tar;
using System.Text;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// Writes a tar archive in memory, entry by entry in the order called: regular files, directories, symlinks and hard
/// links, with duplicates and any order allowed. <see cref="ToArray"/> ends the archive (two zero blocks).
/// </summary>
public sealed class TarBuilder : IDisposable
{
    private static readonly DateTimeOffset Epoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly MemoryStream _stream = new();
    private readonly TarEntryFormat _format;
    private TarWriter? _writer;

    public TarBuilder(TarEntryFormat format = TarEntryFormat.Ustar)
    {
        _format = format;
        _writer = new TarWriter(_stream, format, leaveOpen: true);
    }

    /// <summary>Entries written so far.</summary>
    public int Count { get; private set; }

    public TarBuilder File(string name, string text) => File(name, Encoding.UTF8.GetBytes(text));

    public TarBuilder File(string name, byte[] data)
    {
        var entry = NewEntry(_format == TarEntryFormat.V7 ? TarEntryType.V7RegularFile : TarEntryType.RegularFile, name);
        entry.DataStream = new MemoryStream(data, writable: false);
        return Write(entry);
    }

    public TarBuilder Directory(string name) => Write(NewEntry(TarEntryType.Directory, name.EndsWith('/') ? name : name + "/"));

    public TarBuilder Symlink(string name, string target)
    {
        var entry = NewEntry(TarEntryType.SymbolicLink, name);
        entry.LinkName = target;
        return Write(entry);
    }

    public TarBuilder HardLink(string name, string target)
    {
        var entry = NewEntry(TarEntryType.HardLink, name);
        entry.LinkName = target;
        return Write(entry);
    }

    /// <summary>The finished archive. Further entries cannot be added.</summary>
    public byte[] ToArray()
    {
        _writer?.Dispose();
        _writer = null;
        return _stream.ToArray();
    }

    public void Dispose()
    {
        _writer?.Dispose();
        _stream.Dispose();
    }

    private TarBuilder Write(TarEntry entry)
    {
        var writer = _writer ?? throw new InvalidOperationException("the archive is finished");
        writer.WriteEntry(entry);
        Count++;
        return this;
    }

    private TarEntry NewEntry(TarEntryType type, string name)
    {
        TarEntry entry = _format switch
        {
            TarEntryFormat.V7 => new V7TarEntry(type, name),
            TarEntryFormat.Ustar => new UstarTarEntry(type, name),
            TarEntryFormat.Gnu => new GnuTarEntry(type, name),
            _ => new PaxTarEntry(type, name),
        };
        entry.ModificationTime = Epoch;
        entry.Mode = type == TarEntryType.Directory ? (UnixFileMode)0b111_101_101 : (UnixFileMode)0b110_100_100;
        return entry;
    }
}
