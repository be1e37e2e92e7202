using Google.Protobuf.WellKnownTypes;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Proto.Images;

namespace Imageimportd.Containerd;

/// <summary>containerd's image service behind <see cref="IImageStore"/>.</summary>
public sealed class GrpcImageStore(ContainerdClient client) : IImageStore
{
    public async ValueTask<ImageRecord?> GetAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            var response = await ContainerdErrors.Call($"get image {name}", client.Images.GetAsync(new GetImageRequest { Name = name }, client.Headers(null), cancellationToken: cancellationToken));
            return response.Image is null ? null : FromProto(response.Image);
        }
        catch (BackendException ex) when (ex.Kind == FailureKind.NotFound)
        {
            return null;
        }
    }

    public async ValueTask<IReadOnlyList<ImageRecord>> ListAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken)
    {
        var request = new ListImagesRequest();
        request.Filters.Add(filters);
        var response = await ContainerdErrors.Call("list images", client.Images.ListAsync(request, client.Headers(null), cancellationToken: cancellationToken));
        return response.Images.Select(FromProto).ToList();
    }

    public async ValueTask<ImageRecord> CreateAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        var response = await ContainerdErrors.Call($"create image {image.Name}", client.Images.CreateAsync(new CreateImageRequest { Image = ToProto(image) }, client.Headers(null), cancellationToken: cancellationToken));
        return FromProto(response.Image);
    }

    public async ValueTask<ImageRecord> UpdateAsync(ImageRecord image, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken)
    {
        var mask = new FieldMask();
        mask.Paths.Add(fieldPaths);
        var response = await ContainerdErrors.Call($"update image {image.Name}", client.Images.UpdateAsync(new UpdateImageRequest { Image = ToProto(image), UpdateMask = mask }, client.Headers(null), cancellationToken: cancellationToken));
        return FromProto(response.Image);
    }

    private static Image ToProto(ImageRecord image)
    {
        var p = new Image { Name = image.Name, Target = WireConvert.ToProto(image.Target) };
        foreach (var (k, v) in image.Labels)
        {
            p.Labels[k] = v;
        }
        return p;
    }

    private static ImageRecord FromProto(Image p) =>
        new(p.Name, WireConvert.FromProto(p.Target, $"image {p.Name}"), new Dictionary<string, string>(p.Labels, StringComparer.Ordinal));
}
