using Imageimportd.Containerd;
using Imageimportd.Content;
using Imageimportd.Images;
using Imageimportd.Leases;
using Imageimportd.Unpack;

namespace Imageimportd.Import;

/// <summary>The real backend: containerd's services over one gRPC connection.</summary>
public sealed class ContainerdBackend(ContainerdClient client) : IImportBackend
{
    public ILeaseManager Leases { get; } = client.LeaseManager();

    public IImageStore Images { get; } = client.ImageStore();

    public IContentStore Content(string lease) => client.ContentStore(lease);

    public ISnapshotter Snapshotter(string name, string lease) => client.Snapshotter(name, lease);

    public IDiffApplier Differ(string lease) => client.DiffApplier(lease);
}
