using Imageimportd.Oci;

namespace Imageimportd.Archive;

/// <summary>
/// Where the archive reader puts entry bytes: the write-content stage, possibly behind decorators (layer substitution,
/// the stored-blob feed, the streaming layer tee).
/// Contract: <see cref="IngestAsync(string, long, Digest?, Digest?, Stream, CancellationToken)"/> consumes exactly
/// <c>size</c> bytes of <c>data</c> (fewer is a truncated archive, an <see cref="InvalidDataException"/>); a
/// <c>claimed</c> digest (from an OCI blob path) is trusted only once the bytes match it; a <c>hint</c> (a docker-archive
/// name such as <c>&lt;sha256&gt;.tar</c>) only lets a blob go unsent, and bytes that differ from it are stored under their
/// own digest, or come back as <see cref="BlobState.HintMismatch"/> when they were not stored. The blob may still be
/// committing when the call returns (<see cref="StoredBlob.Committed"/>); <see cref="CompleteAsync"/> waits for all of
/// them and surfaces the first failure.
/// </summary>
public interface IBlobSink
{
    ValueTask<StoredBlob> IngestAsync(string path, long size, Digest? claimed, Digest? hint, Stream data, CancellationToken cancellationToken);

    ValueTask<StoredBlob> IngestAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken);

    ValueTask CompleteAsync(CancellationToken cancellationToken);
}
