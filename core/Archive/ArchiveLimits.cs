namespace Imageimportd.Archive;

/// <summary>Bounds on what an untrusted archive may make the reader hold or do.</summary>
public sealed record ArchiveLimits
{
    /// <summary><c>manifest.json</c>, <c>index.json</c> and <c>oci-layout</c> larger than this are refused, as containerd does.</summary>
    public long MaxMetadataBytes { get; init; } = 20L << 20;

    /// <summary>Largest blob kept in memory as JSON for the import walk.</summary>
    public int MaxCapturedJsonBytes { get; init; } = 4 << 20;

    /// <summary>All captured JSON of one archive together; past this the walk reads blobs back from the store.</summary>
    public long MaxCapturedJsonTotal { get; init; } = 64L << 20;

    /// <summary>Entries (of any type) an archive may hold.</summary>
    public int MaxEntries { get; init; } = 1_000_000;

    /// <summary>A compressed archive may expand at most this many times (checked once past <see cref="ExpansionCheckAfterBytes"/>).</summary>
    public long MaxExpansionRatio { get; init; } = 200;

    /// <summary>
    /// Largest tar metadata header (GNU long name or link, PAX records): image archives name files with a few dozen
    /// bytes, and the reader holds such a header whole, so a larger one is refused before it is read.
    /// </summary>
    public long MaxTarHeaderBytes { get; init; } = 1 << 20;

    public long ExpansionCheckAfterBytes { get; init; } = 256L << 20;

    public static ArchiveLimits Default { get; } = new();
}
