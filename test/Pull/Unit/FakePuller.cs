using Imageimportd.Images;
using Imageimportd.Oci;
using Imageimportd.Pull;

namespace Imageimportd.Tests.Pull.Unit;

/// <summary>
/// An <see cref="IImagePuller"/> that behaves like CRI on top of a <see cref="FakeImageStore"/>: a pull creates the
/// records CRI creates (the reference and its <c>repo@sha256</c> twin). Counts calls and concurrent pulls; an optional
/// gate holds every pull until the test releases it.
/// </summary>
internal sealed class FakePuller(FakeImageStore store) : IImagePuller
{
    private readonly Dictionary<string, Exception> _failures = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _inFlight;
    private int _maxInFlight;
    private int _pulls;
    private int _statuses;

    /// <summary>When set, each pull waits for one release of this semaphore.</summary>
    public SemaphoreSlim? Gate { get; set; }

    public int Pulls => Volatile.Read(ref _pulls);

    public int Statuses => Volatile.Read(ref _statuses);

    public int InFlight => Volatile.Read(ref _inFlight);

    public int MaxInFlight => Volatile.Read(ref _maxInFlight);

    public static string ImageIdOf(string reference) => Digest.FromString("config " + reference).Value;

    public static Descriptor TargetOf(string reference) =>
        new(MediaTypes.OciManifest, Digest.FromString("manifest " + reference), 100);

    public void FailPull(string reference, Exception error)
    {
        lock (_lock)
        {
            _failures[reference] = error;
        }
    }

    public Task<string?> StatusAsync(string reference, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _statuses);
        return Task.FromResult(store.Contains(reference) ? ImageIdOf(reference) : null);
    }

    public async Task<string> PullAsync(string reference, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _pulls);
        var now = Interlocked.Increment(ref _inFlight);
        lock (_lock)
        {
            _maxInFlight = Math.Max(_maxInFlight, now);
        }

        try
        {
            if (Gate is { } gate)
            {
                await gate.WaitAsync(cancellationToken);
            }

            Exception? failure;
            lock (_lock)
            {
                _failures.TryGetValue(reference, out failure);
            }

            if (failure is not null)
            {
                throw failure;
            }

            var target = TargetOf(reference);
            var empty = new Dictionary<string, string>(StringComparer.Ordinal);
            store.Seed(new ImageRecord(reference, target, empty));
            store.Seed(new ImageRecord(ImageNaming.DigestNameOf(reference, target.Digest)!, target, empty));
            return ImageIdOf(reference);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }
}
