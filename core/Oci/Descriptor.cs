namespace Imageimportd.Oci;

/// <summary>An OCI content descriptor. Annotations are kept in ordinal key order, as Go's JSON encoder writes maps.</summary>
public sealed record Descriptor(string MediaType, Digest Digest, long Size)
{
    public IReadOnlyDictionary<string, string>? Annotations { get; init; }

    public Platform? Platform { get; init; }

    public IReadOnlyList<string>? Urls { get; init; }

    public string? ArtifactType { get; init; }

    public string? Annotation(string key) =>
        Annotations is not null && Annotations.TryGetValue(key, out var value) ? value : null;

    public override string ToString() => $"{MediaType} {Digest} ({Size} bytes)";
}
