namespace Imageimportd.Archive;

/// <summary>How an archive describes its images.</summary>
public enum ArchiveFormat
{
    /// <summary>An OCI image layout (<c>oci-layout</c> + <c>index.json</c>); Docker 25+ saves this too.</summary>
    OciLayout,

    /// <summary>A docker save archive described only by <c>manifest.json</c>.</summary>
    Docker,
}
