using System.Formats.Tar;
using Imageimportd.Oci;

namespace Imageimportd.Archive;

/// <summary>
/// Turns an image archive's tar stream into stored blobs plus the one document describing its images.
/// It reads the stream once, front to back, never extracts to disk and never holds a layer in memory:
/// each regular file goes straight to <see cref="IBlobSink"/>. Entry names are only map keys here
/// (nothing is written to a path), so <c>../</c>, absolute names and links cannot escape anything.
/// </summary>
public sealed class ArchiveReader(ArchiveLimits limits)
{
    private const string OciLayoutFile = "oci-layout";
    private const string OciIndexFile = "index.json";
    private const string DockerManifestFile = "manifest.json";
    private const string SupportedLayoutVersion = "1.0.0";

    public ArchiveReader()
        : this(ArchiveLimits.Default)
    {
    }

    public async Task<ArchiveContents> ReadAsync(Stream tar, IBlobSink ingest, CancellationToken cancellationToken)
    {
        var byPath = new Dictionary<string, StoredBlob>(StringComparer.Ordinal);
        var byDigest = new Dictionary<Digest, StoredBlob>();
        var symlinks = new Dictionary<string, string>(StringComparer.Ordinal);
        string? layoutVersion = null;
        IReadOnlyList<DockerManifestEntry>? dockerManifests = null;
        var sawManifestJson = false;
        var entries = 0;
        long bytes = 0;

        // The guard sees each header before TarReader allocates what it declares; disposing it would close tar.
        var guarded = new TarHeaderGuardStream(tar, limits.MaxTarHeaderBytes);
        using var reader = new TarReader(guarded, leaveOpen: true);
        while (true)
        {
            TarEntry? entry;
            try
            {
                entry = await reader.GetNextEntryAsync(copyData: false, cancellationToken);
            }
            catch (Exception ex) when (ex is InvalidDataException or FormatException or EndOfStreamException or ArgumentException or OutOfMemoryException)
            {
                if (ex is EndOfStreamException && entries == 0 && guarded.BytesSeen == 0)
                {
                    // TarReader reports a stream with no bytes at all as cut short unless it can seek.
                    throw new InvalidDataException("empty archive: no tar entries", ex);
                }

                // TarReader's own messages are resource keys in the NativeAOT build; the guard's are words.
                var why = ex switch
                {
                    EndOfStreamException => "the file ends inside a tar header (truncated)",
                    OutOfMemoryException => "a tar header too large to hold",
                    _ => Logging.PlainText.Plain(ex.Message, "a tar header is malformed"),
                };
                throw new InvalidDataException(entries == 0 ? $"not a tar archive: {why}" : $"corrupt tar after {entries} entries: {why}", ex);
            }

            if (entry is null)
            {
                break;
            }

            if (++entries > limits.MaxEntries)
            {
                throw new InvalidDataException($"archive has more than {limits.MaxEntries} entries");
            }

            if (entry.EntryType == TarEntryType.SymbolicLink)
            {
                // containerd keys links by the raw name; the cleaned name also resolves re-tarred ./ archives.
                var target = GoPath.Join(GoPath.Dir(entry.Name), entry.LinkName);
                symlinks[entry.Name] = target;
                symlinks[GoPath.Clean(entry.Name)] = target;
                continue;
            }

            if (entry.EntryType is not (TarEntryType.RegularFile or TarEntryType.V7RegularFile))
            {
                continue;
            }

            var name = GoPath.Clean(entry.Name);
            var size = entry.Length;
            var data = entry.DataStream ?? Stream.Null;
            bytes += size;
            switch (name)
            {
                case OciLayoutFile:
                    layoutVersion = ImageJson.ParseLayoutVersion(await ReadMetadataAsync(name, size, data, cancellationToken), name);
                    break;
                case DockerManifestFile:
                    sawManifestJson = true;
                    dockerManifests = ImageJson.ParseDockerManifests(await ReadMetadataAsync(name, size, data, cancellationToken), name);
                    break;
                case OciIndexFile:
                    var indexBytes = await ReadMetadataAsync(name, size, data, cancellationToken);
                    Add(await ingest.IngestAsync(name, indexBytes, cancellationToken));
                    break;
                default:
                    var blob = await ingest.IngestAsync(name, size, ClaimedDigest(name), HintedDigest(name), data, cancellationToken);
                    if (blob.State == BlobState.HintMismatch)
                    {
                        // The bytes were only hashed and are gone from the stream: reading on would be wasted.
                        return ArchiveContents.Abandoned($"{name}: content digest {blob.Digest} is not the {HintedDigest(name)} its name says");
                    }

                    Add(blob);
                    break;
            }

            void Add(StoredBlob blob)
            {
                byPath[name] = blob;
                byDigest[blob.Digest] = blob;
            }
        }

        if (entries == 0)
        {
            throw new InvalidDataException("empty archive: no tar entries");
        }

        await ingest.CompleteAsync(cancellationToken);

        if (!string.IsNullOrEmpty(layoutVersion))
        {
            if (layoutVersion != SupportedLayoutVersion)
            {
                throw new InvalidDataException($"unsupported OCI layout version \"{layoutVersion}\"");
            }

            if (!byPath.TryGetValue(OciIndexFile, out var index))
            {
                throw new InvalidDataException("OCI layout has no index.json");
            }

            return new ArchiveContents
            {
                Format = ArchiveFormat.OciLayout,
                RootIndex = index,
                BlobsByPath = byPath,
                BlobsByDigest = byDigest,
                Symlinks = symlinks,
                BytesRead = bytes,
            };
        }

        if (!sawManifestJson || dockerManifests is null)
        {
            throw new InvalidDataException("unrecognized image format: neither manifest.json nor oci-layout found");
        }

        return new ArchiveContents
        {
            Format = ArchiveFormat.Docker,
            DockerManifests = dockerManifests,
            BlobsByPath = byPath,
            BlobsByDigest = byDigest,
            Symlinks = symlinks,
            BytesRead = bytes,
        };
    }

    /// <summary>OCI layouts name blobs <c>blobs/&lt;alg&gt;/&lt;hex&gt;</c>; that name is a claim the ingest verifies.</summary>
    internal static Digest? ClaimedDigest(string cleanName)
    {
        const string prefix = "blobs/";
        if (!cleanName.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = cleanName.AsSpan(prefix.Length);
        var slash = rest.IndexOf('/');
        if (slash <= 0)
        {
            return null;
        }

        return Digest.TryParse(string.Concat(rest[..slash], ":", rest[(slash + 1)..]), out var digest) ? digest : null;
    }

    /// <summary>
    /// docker and skopeo name top-level layers and configs by their digest (<c>&lt;hex&gt;.tar</c>, <c>&lt;hex&gt;.json</c>).
    /// Nothing promises it, so it is only a hint: it spares re-sending content the store already has.
    /// </summary>
    internal static Digest? HintedDigest(string cleanName)
    {
        var dot = cleanName.IndexOf('.', StringComparison.Ordinal);
        if (dot != 64 || cleanName.Contains('/', StringComparison.Ordinal) || cleanName[(dot + 1)..] is not ("tar" or "json"))
        {
            return null;
        }

        return Digest.TryParse("sha256:" + cleanName[..64], out var digest) ? digest : null;
    }

    private async Task<byte[]> ReadMetadataAsync(string name, long size, Stream data, CancellationToken cancellationToken)
    {
        if (size > limits.MaxMetadataBytes)
        {
            throw new InvalidDataException($"{name} is {size} bytes, over the {limits.MaxMetadataBytes >> 20} MiB limit for image metadata");
        }

        var buffer = new byte[size];
        var read = await data.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        if (read < size)
        {
            throw new InvalidDataException($"truncated archive: {name} ends after {read} of {size} bytes");
        }

        return buffer;
    }
}
