namespace Imageimportd.Tests.Harness;

public enum ArchiveFormat
{
    /// <summary>docker save layout as skopeo writes it: manifest.json, repositories, &lt;diffid&gt;.tar, legacy &lt;id&gt;/layer.tar symlinks.</summary>
    DockerArchive,

    /// <summary>skopeo's oci-archive: a tarred OCI layout with one ref.</summary>
    OciArchive,

    /// <summary>An OCI image layout directory (several refs) tarred with GNU tar (entries start with "./").</summary>
    OciLayoutTar,
}
