using Imageimportd.Archive;
using Imageimportd.Compression;
using Imageimportd.Content;
using Imageimportd.Oci;
using Imageimportd.Unpack.Direct;

namespace Imageimportd.Import;

/// <summary>How files are imported.</summary>
public sealed record ImportOptions
{
    public bool Unpack { get; init; } = true;

    /// <summary>Apply layers while the archive is still being read (<see cref="Unpack.UnpackAhead"/>), not only after it.</summary>
    public bool UnpackAhead { get; init; } = true;

    public string Snapshotter { get; init; } = "overlayfs";

    /// <summary>Who writes layers into snapshots: this process where it can reach the snapshot (the default), or containerd's Diff service.</summary>
    public UnpackVia UnpackVia { get; init; } = UnpackVia.Auto;

    /// <summary>Where <see cref="UnpackVia.Auto"/> reports which way it unpacks and why.</summary>
    public Action<string>? UnpackViaReport { get; init; }

    public bool Pin { get; init; } = true;

    /// <summary>
    /// ctr's <c>--base-name</c>: OCI entries named only by a tag are named <c>BASE:TAG</c>, and entries whose ref name
    /// is a full reference not under BASE are not imported (see <see cref="Images.ImageNaming"/>).
    /// </summary>
    public string? BaseName { get; init; }

    /// <summary>Name prefix for OCI entries named only by a tag, filtering nothing; <see cref="BaseName"/> wins when both are set.</summary>
    public string? TagPrefix { get; init; }

    public Platform Host { get; init; } = Platform.Host;

    public ArchiveLimits Limits { get; init; } = ArchiveLimits.Default;

    public ContentWriteOptions ContentWrite { get; init; } = ContentWriteOptions.Default;

    public DecompressionOptions Decompression { get; init; } = DecompressionOptions.Default;

    /// <summary>How long a lease outlives a killed importer before containerd collects it anyway.</summary>
    public TimeSpan LeaseExpiry { get; init; } = TimeSpan.FromHours(24);
}
