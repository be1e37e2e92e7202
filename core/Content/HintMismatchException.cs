using Imageimportd.Oci;

namespace Imageimportd.Content;

/// <summary>
/// A blob left unsent on the strength of its digest-hint name (its compressed twin was in the store) turned out to hold
/// other bytes. Nothing is wrong with the archive as such (a hint is no promise), but the bytes are gone from the stream:
/// the import must run again without twins, and will store them under their own digest. It never leaves the importer.
/// </summary>
public sealed class HintMismatchException(string path, Digest named, Digest actual)
    : Exception($"{path}: content digest {actual} is not the {named} its name says; importing again without skipping it")
{
    public string Path { get; } = path;
}
