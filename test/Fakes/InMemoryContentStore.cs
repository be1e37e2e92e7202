using System.Runtime.CompilerServices;
using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Oci;

namespace Imageimportd.Tests.Fakes;

/// <summary>
/// A content store in memory that keeps the contracts of <see cref="IContentIngester"/>, <see cref="IContentWriter"/>,
/// <see cref="IContentProvider"/> and <see cref="IContentInfoStore"/> as containerd does: ingests are keyed by ref and
/// invisible until committed; an expected digest the store holds opens no writer; commit verifies size and digest;
/// committing content that already exists is success; a writer disposed without commit aborts its ingest; label updates
/// touch only the given keys (an empty value removes the key). It counts what was sent so tests can assert "nothing sent".
/// </summary>
public sealed class InMemoryContentStore : IContentStore
{
    private readonly Lock _gate = new();
    private readonly SortedDictionary<Digest, Blob> _blobs = [];
    private readonly Dictionary<string, Writer> _ingests = new(StringComparer.Ordinal);
    private readonly List<string> _aborted = [];
    private readonly List<int> _writeSizes = [];
    private long _bytesWritten;
    private int _blobsCommitted;
    private int _writersOpened;
    private int _writersOpenedAhead;
    private int _writersSkipped;
    private int _labelUpdates;

    /// <summary>When set, every write yields before taking the bytes, as a pipelined gRPC stream would.</summary>
    public bool AsynchronousWrites { get; set; }

    /// <summary>When it returns an exception for a digest, committing that digest fails with it (and the ingest stays until disposed).</summary>
    public Func<Digest, BackendException?>? CommitFault { get; set; }

    /// <summary>Bytes received through writers (committed or not).</summary>
    public long BytesWritten
    {
        get
        {
            lock (_gate)
            {
                return _bytesWritten;
            }
        }
    }

    /// <summary>Blobs that became present through a commit (commits of existing content are not counted).</summary>
    public int BlobsCommitted
    {
        get
        {
            lock (_gate)
            {
                return _blobsCommitted;
            }
        }
    }

    /// <summary>Writers handed out by <see cref="OpenWriterAsync"/>.</summary>
    public int WritersOpened
    {
        get
        {
            lock (_gate)
            {
                return _writersOpened;
            }
        }
    }

    /// <summary>Writers handed out by <see cref="OpenWriterAheadAsync"/>.</summary>
    public int WritersOpenedAhead
    {
        get
        {
            lock (_gate)
            {
                return _writersOpenedAhead;
            }
        }
    }

    /// <summary>Opens answered with null (or writers opened ahead answering false) because the expected digest was present.</summary>
    public int WritersSkipped
    {
        get
        {
            lock (_gate)
            {
                return _writersSkipped;
            }
        }
    }

    /// <summary>Calls of <see cref="UpdateLabelsAsync"/>.</summary>
    public int LabelUpdates
    {
        get
        {
            lock (_gate)
            {
                return _labelUpdates;
            }
        }
    }

    /// <summary>Sizes of every write, in order.</summary>
    public IReadOnlyList<int> WriteSizes
    {
        get
        {
            lock (_gate)
            {
                return [.. _writeSizes];
            }
        }
    }

    /// <summary>Refs of ingests still open (neither committed nor aborted).</summary>
    public IReadOnlyList<string> ActiveIngests
    {
        get
        {
            lock (_gate)
            {
                return [.. _ingests.Keys];
            }
        }
    }

    /// <summary>Refs of ingests aborted by disposing their writer before a commit.</summary>
    public IReadOnlyList<string> AbortedIngests
    {
        get
        {
            lock (_gate)
            {
                return [.. _aborted];
            }
        }
    }

    /// <summary>Digests of all committed blobs, in digest order.</summary>
    public IReadOnlyList<Digest> Digests
    {
        get
        {
            lock (_gate)
            {
                return [.. _blobs.Keys];
            }
        }
    }

    /// <summary>Puts a blob directly (as if an earlier import had committed it) and returns its digest.</summary>
    public Digest Put(byte[] data, IReadOnlyDictionary<string, string>? labels = null)
    {
        var digest = Digest.FromBytes(data);
        lock (_gate)
        {
            if (!_blobs.TryGetValue(digest, out var blob))
            {
                blob = new Blob([.. data]);
                _blobs[digest] = blob;
            }

            foreach (var (k, v) in labels ?? new Dictionary<string, string>())
            {
                blob.Labels[k] = v;
            }
        }

        return digest;
    }

    public bool Contains(Digest digest)
    {
        lock (_gate)
        {
            return _blobs.ContainsKey(digest);
        }
    }

    /// <summary>The committed bytes of a blob; throws NotFound like <see cref="ReadAsync"/>.</summary>
    public byte[] Get(Digest digest)
    {
        lock (_gate)
        {
            return _blobs.TryGetValue(digest, out var blob) ? [.. blob.Data] : throw NotFound(digest);
        }
    }

    /// <summary>A copy of a committed blob's labels; throws NotFound when absent.</summary>
    public IReadOnlyDictionary<string, string> LabelsOf(Digest digest)
    {
        lock (_gate)
        {
            return _blobs.TryGetValue(digest, out var blob)
                ? new Dictionary<string, string>(blob.Labels, StringComparer.Ordinal)
                : throw NotFound(digest);
        }
    }

    public ValueTask<IContentWriter?> OpenWriterAsync(string reference, long size, Digest? expected, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        if (string.IsNullOrEmpty(reference))
        {
            throw new BackendException(FailureKind.InvalidArgument, "ref must not be empty");
        }

        lock (_gate)
        {
            if (expected is { } e && _blobs.ContainsKey(e))
            {
                _writersSkipped++;
                return ValueTask.FromResult<IContentWriter?>(null);
            }

            var writer = NewIngest(reference, new Writer(this, reference, size));
            _writersOpened++;
            return ValueTask.FromResult<IContentWriter?>(writer);
        }
    }

    public ValueTask<IContentWriter> OpenWriterAheadAsync(string reference, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var writer = NewIngest(reference, new Writer(this, reference, 0) { Ahead = true });
            _writersOpenedAhead++;
            return ValueTask.FromResult<IContentWriter>(writer);
        }
    }

    /// <summary>Registers an ingest under a ref, as containerd locks one (the caller holds the gate).</summary>
    private Writer NewIngest(string reference, Writer writer)
    {
        if (string.IsNullOrEmpty(reference))
        {
            throw new BackendException(FailureKind.InvalidArgument, "ref must not be empty");
        }

        if (_ingests.ContainsKey(reference))
        {
            throw new BackendException(FailureKind.Unavailable, $"ref {reference} locked");
        }

        _ingests[reference] = writer;
        return writer;
    }

    public ValueTask<byte[]> ReadAsync(Digest digest, long offset, int maxBytes, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_blobs.TryGetValue(digest, out var blob))
            {
                throw NotFound(digest);
            }

            if (offset < 0 || offset > blob.Data.Length || maxBytes < 0)
            {
                throw new BackendException(FailureKind.InvalidArgument, $"read {digest}: offset {offset} out of range");
            }

            var n = (int)Math.Min(maxBytes, blob.Data.Length - offset);
            return ValueTask.FromResult(blob.Data.AsSpan((int)offset, n).ToArray());
        }
    }

    public ValueTask<ContentInfo?> InfoAsync(Digest digest, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(_blobs.TryGetValue(digest, out var blob) ? blob.Info(digest) : null);
        }
    }

    public ValueTask UpdateLabelsAsync(Digest digest, IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_blobs.TryGetValue(digest, out var blob))
            {
                throw NotFound(digest);
            }

            _labelUpdates++;
            foreach (var (key, value) in labels)
            {
                if (value.Length == 0)
                {
                    blob.Labels.Remove(key);
                }
                else
                {
                    blob.Labels[key] = value;
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    public async IAsyncEnumerable<ContentInfo> ListAsync(IReadOnlyList<string> filters, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var filter = FilterExpression.Parse(filters);
        await Task.Yield();
        List<ContentInfo> matches;
        lock (_gate)
        {
            matches = [.. _blobs
                .Where(kv => filter.Matches(field => Field(kv.Key, kv.Value, field)))
                .Select(kv => kv.Value.Info(kv.Key))];
        }

        foreach (var info in matches)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return info;
        }
    }

    private static string? Field(Digest digest, Blob blob, string field)
    {
        const string labels = "labels.";
        if (field.StartsWith(labels, StringComparison.Ordinal))
        {
            return blob.Labels.TryGetValue(field[labels.Length..], out var v) ? v : null;
        }

        return field switch
        {
            "digest" => digest.Value,
            "size" => blob.Data.Length.ToString(System.Globalization.CultureInfo.InvariantCulture),
            _ => null,
        };
    }

    private static BackendException NotFound(Digest digest) => new(FailureKind.NotFound, $"content {digest}: not found");

    private sealed class Blob(byte[] data)
    {
        public byte[] Data { get; } = data;

        public Dictionary<string, string> Labels { get; } = new(StringComparer.Ordinal);

        public ContentInfo Info(Digest digest) => new(digest, Data.Length, new Dictionary<string, string>(Labels, StringComparer.Ordinal));
    }

    private sealed class Writer(InMemoryContentStore store, string reference, long total) : IContentWriter
    {
        private readonly MemoryStream _data = new();
        private bool _committed;
        private bool _disposed;
        private bool _expected;

        /// <summary>Opened ahead: <see cref="ExpectAsync"/> must declare the blob before the first write.</summary>
        public bool Ahead { get; init; }

        public ValueTask<bool> ExpectAsync(long size, Digest expected, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lock (store._gate)
            {
                if (!Ahead || _expected || _committed || _disposed || _data.Length > 0)
                {
                    throw new BackendException(FailureKind.FailedPrecondition, $"expect {reference}: not a fresh writer opened ahead");
                }

                _expected = true;
                total = size;
                if (store._blobs.ContainsKey(expected))
                {
                    // As containerd's Write service does: the stream ends with AlreadyExists and the ingest is aborted.
                    store._writersSkipped++;
                    store._ingests.Remove(reference);
                    _committed = true;
                    return ValueTask.FromResult(false);
                }

                return ValueTask.FromResult(true);
            }
        }

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (store.AsynchronousWrites)
            {
                await Task.Yield();
            }

            lock (store._gate)
            {
                if (_committed || _disposed)
                {
                    throw new BackendException(FailureKind.FailedPrecondition, $"write {reference}: writer is closed");
                }

                if (Ahead && !_expected)
                {
                    throw new BackendException(FailureKind.FailedPrecondition, $"write {reference}: a writer opened ahead needs its blob declared first");
                }

                _data.Write(data.Span);
                store._bytesWritten += data.Length;
                store._writeSizes.Add(data.Length);
            }
        }

        public ValueTask CommitAsync(long size, Digest digest, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            lock (store._gate)
            {
                if (_committed || _disposed)
                {
                    throw new BackendException(FailureKind.FailedPrecondition, $"commit {reference}: writer is closed");
                }

                if (store.CommitFault?.Invoke(digest) is { } fault)
                {
                    throw fault;
                }

                if (size > 0 && _data.Length != size)
                {
                    throw new BackendException(FailureKind.FailedPrecondition, $"commit {reference}: unexpected commit size {_data.Length}, expected {size}");
                }

                if (total > 0 && _data.Length != total)
                {
                    throw new BackendException(FailureKind.FailedPrecondition, $"commit {reference}: {_data.Length} bytes written of the {total} announced");
                }

                var bytes = _data.ToArray();
                var actual = Digest.FromBytes(bytes);
                // As containerd's Write service does, the digest sent at commit replaces the one declared at open.
                if (actual != digest)
                {
                    throw new BackendException(FailureKind.FailedPrecondition, $"commit {reference}: unexpected commit digest {actual}, expected {digest}");
                }

                _committed = true;
                store._ingests.Remove(reference);
                if (store._blobs.ContainsKey(digest))
                {
                    // containerd answers AlreadyExists, which the writer contract counts as committed.
                    return ValueTask.CompletedTask;
                }

                var blob = new Blob(bytes);
                foreach (var (k, v) in labels ?? new Dictionary<string, string>())
                {
                    blob.Labels[k] = v;
                }

                store._blobs[digest] = blob;
                store._blobsCommitted++;
            }

            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            lock (store._gate)
            {
                if (!_disposed && !_committed)
                {
                    store._ingests.Remove(reference);
                    store._aborted.Add(reference);
                }

                _disposed = true;
            }

            return ValueTask.CompletedTask;
        }
    }
}
