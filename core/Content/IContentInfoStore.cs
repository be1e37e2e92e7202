using Imageimportd.Oci;

namespace Imageimportd.Content;

/// <summary>Info and labels of committed content.</summary>
public interface IContentInfoStore
{
    /// <summary>Returns null when the blob is not in the store.</summary>
    ValueTask<ContentInfo?> InfoAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>Sets the given label keys on a blob, leaving its other labels as they are.</summary>
    ValueTask UpdateLabelsAsync(Digest digest, IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken);

    /// <summary>Lists blobs matching any of containerd's filter expressions (e.g. <c>labels."containerd.io/uncompressed"==sha256:…</c>).</summary>
    IAsyncEnumerable<ContentInfo> ListAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken);
}
