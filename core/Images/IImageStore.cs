namespace Imageimportd.Images;

/// <summary>
/// containerd's image records. Contract: names are unique within a namespace; <see cref="CreateAsync"/> on an existing
/// name fails with AlreadyExists; <see cref="UpdateAsync"/> on a missing name fails with NotFound and changes only
/// the listed fields (<c>target</c>, <c>labels.KEY</c>).
/// </summary>
public interface IImageStore
{
    /// <summary>Returns null when no image has that name.</summary>
    ValueTask<ImageRecord?> GetAsync(string name, CancellationToken cancellationToken);

    ValueTask<IReadOnlyList<ImageRecord>> ListAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken);

    ValueTask<ImageRecord> CreateAsync(ImageRecord image, CancellationToken cancellationToken);

    ValueTask<ImageRecord> UpdateAsync(ImageRecord image, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken);
}
