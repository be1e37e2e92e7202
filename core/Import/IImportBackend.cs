using Imageimportd.Content;
using Imageimportd.Images;
using Imageimportd.Leases;
using Imageimportd.Unpack;

namespace Imageimportd.Import;

/// <summary>
/// Everything an import talks to, so the importer runs against containerd or against in-memory fakes alike.
/// Stores handed out for a lease write under that lease.
/// </summary>
public interface IImportBackend
{
    ILeaseManager Leases { get; }

    IImageStore Images { get; }

    IContentStore Content(string lease);

    ISnapshotter Snapshotter(string name, string lease);

    IDiffApplier Differ(string lease);
}
