namespace Imageimportd.Archive;

/// <summary>What became of an archive entry handed to the <see cref="IBlobSink"/>.</summary>
public enum BlobState
{
    /// <summary>In the store (written now, or there already), or being committed: see <see cref="StoredBlob.Committed"/>.</summary>
    Stored,

    /// <summary>
    /// Deliberately not stored: the bytes matched the digest their name hinted at, and the store holds a compressed
    /// blob labelled with that digest, which the generated manifest names instead (see <c>Images.LayerSubstitution</c>).
    /// </summary>
    Substituted,

    /// <summary>
    /// Not stored, and the bytes are gone from the stream: they were only hashed (a substitute was expected) and are
    /// not the digest their name hinted at. The import must read the archive again without substitution.
    /// </summary>
    HintMismatch,
}
