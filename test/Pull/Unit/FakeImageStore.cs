using Imageimportd.Errors;
using Imageimportd.Images;

namespace Imageimportd.Tests.Pull.Unit;

/// <summary>
/// An in-memory <see cref="IImageStore"/> keeping to the contract: Create on an existing name is AlreadyExists,
/// Update on a missing name is NotFound, and Update changes only the masked fields. Counts writes.
/// </summary>
internal sealed class FakeImageStore : IImageStore
{
    private readonly Dictionary<string, ImageRecord> _images = new(StringComparer.Ordinal);
    private readonly List<(string Name, IReadOnlyList<string> Fields)> _updates = [];
    private readonly Lock _lock = new();

    /// <summary>When set, every Update throws it.</summary>
    public Exception? UpdateFailure { get; set; }

    public int Writes
    {
        get
        {
            lock (_lock)
            {
                return _updates.Count;
            }
        }
    }

    public IReadOnlyList<(string Name, IReadOnlyList<string> Fields)> Updates
    {
        get
        {
            lock (_lock)
            {
                return [.. _updates];
            }
        }
    }

    /// <summary>Puts a record in place without counting it as a write (test setup, or the fake CRI's pull).</summary>
    public void Seed(ImageRecord image)
    {
        lock (_lock)
        {
            _images[image.Name] = image;
        }
    }

    public bool Contains(string name)
    {
        lock (_lock)
        {
            return _images.ContainsKey(name);
        }
    }

    public ImageRecord Get(string name)
    {
        lock (_lock)
        {
            return _images[name];
        }
    }

    public ValueTask<ImageRecord?> GetAsync(string name, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_images.GetValueOrDefault(name));
        }
    }

    public ValueTask<IReadOnlyList<ImageRecord>> ListAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult<IReadOnlyList<ImageRecord>>([.. _images.Values]);
        }
    }

    public ValueTask<ImageRecord> CreateAsync(ImageRecord image, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_images.TryAdd(image.Name, image))
            {
                throw new BackendException(FailureKind.AlreadyExists, $"image {image.Name}: already exists");
            }

            _updates.Add((image.Name, ["*"]));
            return ValueTask.FromResult(image);
        }
    }

    public ValueTask<ImageRecord> UpdateAsync(ImageRecord image, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken)
    {
        if (UpdateFailure is { } failure)
        {
            throw failure;
        }

        lock (_lock)
        {
            if (!_images.TryGetValue(image.Name, out var existing))
            {
                throw new BackendException(FailureKind.NotFound, $"image {image.Name}: not found");
            }

            var labels = new Dictionary<string, string>(existing.Labels, StringComparer.Ordinal);
            var target = existing.Target;
            foreach (var field in fieldPaths)
            {
                if (field == "target")
                {
                    target = image.Target;
                }
                else if (field.StartsWith("labels.", StringComparison.Ordinal))
                {
                    var key = field["labels.".Length..];
                    if (image.Labels.TryGetValue(key, out var value))
                    {
                        labels[key] = value;
                    }
                    else
                    {
                        labels.Remove(key);
                    }
                }
            }

            var updated = new ImageRecord(image.Name, target, labels);
            _images[image.Name] = updated;
            _updates.Add((image.Name, fieldPaths));
            return ValueTask.FromResult(updated);
        }
    }
}
