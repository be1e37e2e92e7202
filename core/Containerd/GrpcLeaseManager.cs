using Imageimportd.Errors;
using Imageimportd.Leases;
using Imageimportd.Proto.Leases;

namespace Imageimportd.Containerd;

/// <summary>containerd's lease service behind <see cref="ILeaseManager"/>.</summary>
public sealed class GrpcLeaseManager(ContainerdClient client) : ILeaseManager
{
    public async ValueTask CreateAsync(string id, IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        var request = new CreateRequest { Id = id };
        foreach (var (k, v) in labels)
        {
            request.Labels[k] = v;
        }
        await ContainerdErrors.Call($"create lease {id}", client.Leases.CreateAsync(request, client.Headers(null), cancellationToken: cancellationToken));
    }

    public async ValueTask DeleteAsync(string id, CancellationToken cancellationToken)
    {
        try
        {
            await ContainerdErrors.Call($"delete lease {id}", client.Leases.DeleteAsync(new DeleteRequest { Id = id }, client.Headers(null), cancellationToken: cancellationToken));
        }
        catch (BackendException ex) when (ex.Kind == FailureKind.NotFound)
        {
            // Already gone.
        }
    }

    public async ValueTask AddContentAsync(string id, Oci.Digest digest, CancellationToken cancellationToken)
    {
        var request = new AddResourceRequest { Id = id, Resource = new Resource { Id = digest.Value, Type = "content" } };
        await ContainerdErrors.Call($"add {digest} to lease {id}", client.Leases.AddResourceAsync(request, client.Headers(null), cancellationToken: cancellationToken));
    }

    public async ValueTask<IReadOnlyList<(string Id, IReadOnlyDictionary<string, string> Labels)>> ListAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken)
    {
        var request = new ListRequest();
        request.Filters.Add(filters);
        var response = await ContainerdErrors.Call("list leases", client.Leases.ListAsync(request, client.Headers(null), cancellationToken: cancellationToken));
        return response.Leases.Select(l => (l.Id, (IReadOnlyDictionary<string, string>)new Dictionary<string, string>(l.Labels, StringComparer.Ordinal))).ToList();
    }
}
