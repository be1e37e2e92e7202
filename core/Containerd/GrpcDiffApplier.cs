using Imageimportd.Oci;
using Imageimportd.Proto.Diff;
using Imageimportd.Unpack;

namespace Imageimportd.Containerd;

/// <summary>containerd's diff service: containerd itself reads the layer from its store and applies it.</summary>
internal sealed class GrpcDiffApplier(ContainerdClient client, string? lease) : IDiffApplier
{
    public async ValueTask<Descriptor> ApplyAsync(Descriptor layer, IReadOnlyList<Mount> mounts, CancellationToken cancellationToken)
    {
        var request = new ApplyRequest { Diff = WireConvert.ToProto(layer) };
        foreach (var m in mounts)
        {
            var p = new Proto.Types.Mount { Type = m.Type, Source = m.Source, Target = m.Target };
            p.Options.Add(m.Options);
            request.Mounts.Add(p);
        }

        var response = await ContainerdErrors.Call($"apply layer {layer.Digest}", client.Diff.ApplyAsync(request, client.Headers(lease), cancellationToken: cancellationToken));
        return WireConvert.FromProto(response.Applied, $"apply layer {layer.Digest}");
    }
}
