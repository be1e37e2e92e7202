using Imageimportd.Containerd;
using Imageimportd.Errors;

namespace Imageimportd.Pull;

/// <summary>
/// <see cref="IImagePuller"/> over CRI's ImageService on containerd's socket: containerd's own registry
/// configuration (certs.d mirrors, auth) applies, and pulled images land in k8s.io with the names CRI gives them
/// (the reference, <c>repo@sha256:…</c> and the image ID). A pull that takes longer than
/// <paramref name="pullTimeout"/> fails as <see cref="FailureKind.DeadlineExceeded"/> (transient: the daemon retries it
/// with backoff) with a message naming the reference.
/// </summary>
public sealed class CriImagePuller(CriImages images, TimeSpan pullTimeout) : IImagePuller
{
    public async Task<string?> StatusAsync(string reference, CancellationToken cancellationToken) =>
        (await images.StatusAsync(reference, cancellationToken))?.Id;

    public Task<string> PullAsync(string reference, CancellationToken cancellationToken) =>
        images.PullAsync(reference, pullTimeout, cancellationToken);
}
