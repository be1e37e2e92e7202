namespace Imageimportd.Tests.Harness;

/// <summary>
/// An archive written by real tools. RefNames are exactly what the archive holds (docker RepoTags or
/// OCI org.opencontainers.image.ref.name); ConfigDigests maps each ref to its image config digest
/// (the CRI image id), ManifestDigests to its manifest digest (OCI formats only: for docker archives
/// the importer synthesises the manifest).
/// </summary>
public sealed record ToolArchive(
    string Path,
    ArchiveFormat Format,
    IReadOnlyList<string> RefNames,
    IReadOnlyDictionary<string, string> ConfigDigests,
    IReadOnlyDictionary<string, string> ManifestDigests)
{
    /// <summary>
    /// The image names <c>ctr images import --base-name BASE</c> creates (ctr 1.6 rules): docker RepoTags
    /// normalised and always kept; bare OCI tags become BASE:tag; full OCI ref names are kept as they are
    /// only if they start with BASE followed by '/', ':' or '@'. Without --base-name ctr uses
    /// "import-YYYY-MM-DD" as BASE, so tests should pass one.
    /// </summary>
    public IReadOnlyList<string> ExpectedNames(string baseName)
    {
        var names = new List<string>();
        foreach (var r in RefNames)
        {
            if (Format == ArchiveFormat.DockerArchive)
            {
                names.Add(ImageReferences.Normalize(r));
            }
            else if (!ImageReferences.IsFullReference(r))
            {
                names.Add($"{baseName}:{r}");
            }
            else if (r.StartsWith(baseName, StringComparison.Ordinal) && (r.Length == baseName.Length || r[baseName.Length] is '/' or ':' or '@'))
            {
                names.Add(r);
            }
        }

        return names;
    }
}
