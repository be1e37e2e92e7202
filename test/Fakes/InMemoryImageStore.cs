using Imageimportd.Errors;
using Imageimportd.Images;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// containerd's image store in memory: unique names, Create on an existing name is AlreadyExists, Update on a missing
/// name is NotFound, and Update changes only the listed field paths (<c>target</c>, <c>labels</c>, <c>labels.KEY</c>;
/// no paths means target and labels). It counts writes so tests can assert that a re-import wrote nothing.
/// </summary>
public sealed class InMemoryImageStore : IImageStore
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, ImageRecord> _images = new(StringComparer.Ordinal);
    private int _creates;
    private int _updates;

    /// <summary>When it returns an exception for an image name, creating or updating that name fails with it.</summary>
    public Func<string, BackendException?>? WriteFault { get; set; }

    public int Creates
    {
        get
        {
            lock (_gate)
            {
                return _creates;
            }
        }
    }

    public int Updates
    {
        get
        {
            lock (_gate)
            {
                return _updates;
            }
        }
    }

    /// <summary>Creates plus updates.</summary>
    public int Writes => Creates + Updates;

    /// <summary>All images, by name in ordinal order.</summary>
    public IReadOnlyList<ImageRecord> All
    {
        get
        {
            lock (_gate)
            {
                return [.. _images.Values];
            }
        }
    }

    /// <summary>Puts an image directly, without counting a write.</summary>
    public void Seed(ImageRecord image)
    {
        lock (_gate)
        {
            _images[image.Name] = Copy(image);
        }
    }

    public ValueTask<ImageRecord?> GetAsync(string name, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(_images.TryGetValue(name, out var image) ? Copy(image) : null);
        }
    }

    public ValueTask<IReadOnlyList<ImageRecord>> ListAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var filter = FilterExpression.Parse(filters);
        lock (_gate)
        {
            IReadOnlyList<ImageRecord> matches = [.. _images.Values.Where(i => filter.Matches(f => Field(i, f))).Select(Copy)];
            return ValueTask.FromResult(matches);
        }
    }

    public ValueTask<ImageRecord> CreateAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Validate(image);
        lock (_gate)
        {
            if (WriteFault?.Invoke(image.Name) is { } fault)
            {
                throw fault;
            }

            if (_images.ContainsKey(image.Name))
            {
                throw new BackendException(FailureKind.AlreadyExists, $"image \"{image.Name}\": already exists");
            }

            _images[image.Name] = Copy(image);
            _creates++;
            return ValueTask.FromResult(Copy(image));
        }
    }

    public ValueTask<ImageRecord> UpdateAsync(ImageRecord image, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Validate(image);
        lock (_gate)
        {
            if (WriteFault?.Invoke(image.Name) is { } fault)
            {
                throw fault;
            }

            if (!_images.TryGetValue(image.Name, out var existing))
            {
                throw new BackendException(FailureKind.NotFound, $"image \"{image.Name}\": not found");
            }

            var target = existing.Target;
            var labels = new Dictionary<string, string>(existing.Labels, StringComparer.Ordinal);
            var paths = fieldPaths.Count == 0 ? ["target", "labels"] : fieldPaths;
            foreach (var path in paths)
            {
                if (path == "target")
                {
                    target = image.Target;
                }
                else if (path == "labels")
                {
                    labels = new Dictionary<string, string>(image.Labels, StringComparer.Ordinal);
                }
                else if (path.StartsWith("labels.", StringComparison.Ordinal) && path.Length > "labels.".Length)
                {
                    var key = path["labels.".Length..];
                    if (image.Labels.TryGetValue(key, out var value) && value.Length > 0)
                    {
                        labels[key] = value;
                    }
                    else
                    {
                        labels.Remove(key);
                    }
                }
                else
                {
                    throw new BackendException(FailureKind.InvalidArgument, $"cannot update \"{path}\" field on image \"{image.Name}\"");
                }
            }

            var updated = new ImageRecord(image.Name, target, labels);
            _images[image.Name] = updated;
            _updates++;
            return ValueTask.FromResult(Copy(updated));
        }
    }

    private static void Validate(ImageRecord image)
    {
        if (string.IsNullOrEmpty(image.Name))
        {
            throw new BackendException(FailureKind.InvalidArgument, "image name must not be empty");
        }

        if (image.Target.Digest.IsEmpty || string.IsNullOrEmpty(image.Target.MediaType))
        {
            throw new BackendException(FailureKind.InvalidArgument, $"image \"{image.Name}\": target needs a digest and a media type");
        }
    }

    private static string? Field(ImageRecord image, string field)
    {
        const string labels = "labels.";
        if (field.StartsWith(labels, StringComparison.Ordinal))
        {
            return image.Labels.TryGetValue(field[labels.Length..], out var v) ? v : null;
        }

        return field switch
        {
            "name" => image.Name,
            "target.digest" => image.Target.Digest.Value,
            "target.mediatype" => image.Target.MediaType,
            _ => null,
        };
    }

    private static ImageRecord Copy(ImageRecord image) =>
        image with { Labels = new Dictionary<string, string>(image.Labels, StringComparer.Ordinal) };
}
