using Imageimportd.Errors;
using Imageimportd.Proto.Cri;

namespace Imageimportd.Containerd;

/// <summary>An image as kubelet sees it through CRI.</summary>
public sealed record CriImage(string Id, IReadOnlyList<string> RepoTags, IReadOnlyList<string> RepoDigests, ulong Size, bool Pinned);

/// <summary>
/// CRI's ImageService on containerd's socket: what kubelet sees. Pulls made here go through containerd's own registry
/// configuration (mirrors, auth), and CRI always works in the k8s.io namespace.
/// </summary>
public sealed class CriImages(ContainerdClient client)
{
    private readonly ImageService.ImageServiceClient _images = new(client.Channel);

    public async Task<IReadOnlyList<CriImage>> ListAsync(CancellationToken cancellationToken)
    {
        var response = await ContainerdErrors.Call("CRI list images", _images.ListImagesAsync(new ListImagesRequest(), cancellationToken: cancellationToken));
        return response.Images.Select(ToCri).ToList();
    }

    /// <summary>Returns null when CRI does not know the image.</summary>
    public async Task<CriImage?> StatusAsync(string reference, CancellationToken cancellationToken)
    {
        var response = await ContainerdErrors.Call($"CRI image status {reference}", _images.ImageStatusAsync(new ImageStatusRequest { Image = new ImageSpec { Image = reference } }, cancellationToken: cancellationToken));
        return response.Image is null ? null : ToCri(response.Image);
    }

    /// <summary>
    /// Pulls through CRI; returns the image ID (config digest). <paramref name="timeout"/> is sent as the call's gRPC
    /// deadline, so containerd abandons the pull too (a registry that accepts and never answers would hold it for
    /// ever); when it passes, the error is <see cref="FailureKind.DeadlineExceeded"/> and names the reference.
    /// </summary>
    public async Task<string> PullAsync(string reference, TimeSpan timeout, CancellationToken cancellationToken)
    {
        DateTime? deadline = timeout == Timeout.InfiniteTimeSpan ? null : DateTime.UtcNow + timeout;
        try
        {
            var response = await ContainerdErrors.Call($"CRI pull {reference}", _images.PullImageAsync(new PullImageRequest { Image = new ImageSpec { Image = reference } }, deadline: deadline, cancellationToken: cancellationToken));
            return response.ImageRef;
        }
        catch (BackendException ex) when (ex.Kind == FailureKind.DeadlineExceeded && deadline is not null && !cancellationToken.IsCancellationRequested)
        {
            throw new BackendException(FailureKind.DeadlineExceeded, $"pulling {reference} did not finish within {timeout.TotalSeconds:0}s (--pull-timeout); is the registry answering?", ex);
        }
    }

    private static CriImage ToCri(Image i) => new(i.Id, i.RepoTags.ToList(), i.RepoDigests.ToList(), i.Size, i.Pinned);
}
