using Imageimportd.Errors;

namespace Imageimportd.Pull;

/// <summary>
/// Pulls images the way kubelet would, so the node's registry configuration (mirrors, auth) applies.
/// Contract: references are normalised (<c>docker.io/library/nginx:1.25</c>); <see cref="StatusAsync"/> returns the
/// image ID (config digest, <c>sha256:…</c>) when the image is present and null when it is not, and does not pull;
/// <see cref="PullAsync"/> pulls (a no-op download when the content is there) and returns the image ID, after which an
/// image record named by the reference exists in containerd's k8s.io namespace. Failures throw; containerd's are
/// <see cref="BackendException"/>s whose <see cref="RetryPolicy.IsTransient(Exception)"/> says
/// whether trying again later may help.
/// </summary>
public interface IImagePuller
{
    Task<string?> StatusAsync(string reference, CancellationToken cancellationToken);

    Task<string> PullAsync(string reference, CancellationToken cancellationToken);
}
