namespace Imageimportd.Oci;

/// <summary>The media types the importer reads and writes.</summary>
public static class MediaTypes
{
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string DockerLayerForeign = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayer = "application/vnd.oci.image.layer.v1.tar";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string OciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
    public const string OciLayerNonDistributable = "application/vnd.oci.image.layer.nondistributable.v1.tar";
    public const string OciLayerNonDistributableGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
    public const string OciLayerNonDistributableZstd = "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";

    public static bool IsManifest(string? mediaType) => mediaType is DockerManifest or OciManifest;

    public static bool IsIndex(string? mediaType) => mediaType is DockerManifestList or OciIndex;

    public const string DockerLayerForeignPlain = "application/vnd.docker.image.rootfs.foreign.diff.tar";
    public const string CheckpointCriu = "application/vnd.containerd.container.criu.checkpoint.criu.tar";
    public const string CheckpointConfig = "application/vnd.containerd.container.checkpoint.config.v1+proto";

    /// <summary>containerd's <c>images.IsKnownConfig</c>.</summary>
    public static bool IsConfig(string? mediaType) => mediaType is DockerConfig or OciConfig or CheckpointCriu or CheckpointConfig;

    /// <summary>containerd's <c>images.IsLayerType</c>: any OCI layer type, or a docker layer type with + suffixes stripped.</summary>
    public static bool IsLayer(string? mediaType)
    {
        if (string.IsNullOrEmpty(mediaType))
        {
            return false;
        }

        if (mediaType.StartsWith("application/vnd.oci.image.layer.", StringComparison.Ordinal))
        {
            return true;
        }

        var plus = mediaType.IndexOf('+', StringComparison.Ordinal);
        var baseType = plus < 0 ? mediaType : mediaType[..plus];
        return baseType is DockerLayer or DockerLayerGzip or DockerLayerForeignPlain or DockerLayerForeign;
    }

    /// <summary>
    /// The compression containerd's <c>DetectCompression</c> sees in a blob's first bytes: gzip, zstd (or a zstd
    /// skippable frame), else none.
    /// </summary>
    public static bool LooksCompressed(ReadOnlySpan<byte> header)
    {
        if (header.Length >= 3 && header[0] == 0x1f && header[1] == 0x8b && header[2] == 0x08)
        {
            return true;
        }

        if (header.Length >= 4)
        {
            if (header[0] == 0x28 && header[1] == 0xb5 && header[2] == 0x2f && header[3] == 0xfd)
            {
                return true;
            }

            var magic = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(header);
            return (magic & 0xFFFFFFF0) == 0x184D2A50;
        }

        return false;
    }
}
