using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Tests.Fakes;

namespace Imageimportd.Tests.Daemon;

/// <summary>
/// An <see cref="InMemoryImageStore"/> whose reads can fail too: while <see cref="ReadFault"/> is set, List and Get
/// throw it (writes fail through the store's own <see cref="InMemoryImageStore.WriteFault"/>). Counts Lists and Gets.
/// </summary>
internal sealed class FaultyImageStore(InMemoryImageStore inner) : IImageStore
{
    private int _lists;
    private int _gets;

    public BackendException? ReadFault { get; set; }

    public int Lists => Volatile.Read(ref _lists);

    public int Gets => Volatile.Read(ref _gets);

    public ValueTask<ImageRecord?> GetAsync(string name, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _gets);
        return ReadFault is { } fault ? throw fault : inner.GetAsync(name, cancellationToken);
    }

    public ValueTask<IReadOnlyList<ImageRecord>> ListAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _lists);
        return ReadFault is { } fault ? throw fault : inner.ListAsync(filters, cancellationToken);
    }

    public ValueTask<ImageRecord> CreateAsync(ImageRecord image, CancellationToken cancellationToken) => inner.CreateAsync(image, cancellationToken);

    public ValueTask<ImageRecord> UpdateAsync(ImageRecord image, IReadOnlyList<string> fieldPaths, CancellationToken cancellationToken) =>
        inner.UpdateAsync(image, fieldPaths, cancellationToken);
}
