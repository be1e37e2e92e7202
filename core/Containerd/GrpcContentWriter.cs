using Google.Protobuf;
using Grpc.Core;
using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Oci;
using Imageimportd.Proto.Content;
using ContentApi = Imageimportd.Proto.Content.Content;

namespace Imageimportd.Containerd;

/// <summary>
/// One <c>Content.Write</c> stream. Unlike containerd's own client, which waits for a reply to every chunk, writes are
/// pipelined: chunks go out back to back and a reader task drains the per-chunk replies, so the stream is limited by
/// HTTP/2 flow control and containerd's disk, not by round trips.
/// </summary>
internal sealed class GrpcContentWriter : IContentWriter
{
    private readonly AsyncDuplexStreamingCall<WriteContentRequest, WriteContentResponse> _call;
    private readonly string _ref;
    private readonly ContentApi.ContentClient _content;
    private readonly Metadata _headers;
    private Task? _replies;
    private long _offset;
    private long _total;
    private bool _sentFirst;
    private bool _done;

    public GrpcContentWriter(AsyncDuplexStreamingCall<WriteContentRequest, WriteContentResponse> call, string reference, ContentApi.ContentClient content, Metadata headers)
    {
        _call = call;
        _ref = reference;
        _content = content;
        _headers = headers;
    }

    /// <summary>
    /// Declares the blob. With an expected digest this costs one round trip and returns false when containerd already
    /// has the content; without one, nothing is sent until the first chunk.
    /// </summary>
    public async ValueTask<bool> StartAsync(long size, Digest? expected, CancellationToken cancellationToken)
    {
        _total = size;
        if (expected is not { } digest)
        {
            return true;
        }

        // A resumed ingest from an earlier, killed run starts over: our first write is at offset 0, which truncates.
        return await StatAsync(new WriteContentRequest { Action = WriteAction.Stat, Ref = _ref, Total = size, Expected = digest.Value }, cancellationToken);
    }

    /// <summary>
    /// Opens the session on containerd's side before the blob is known: a Stat carrying only the ref, answered once
    /// containerd's writer exists (a write transaction on its metadata, which waits behind any other). True unless
    /// containerd answers AlreadyExists, which it does not without a digest.
    /// </summary>
    public ValueTask<bool> OpenAheadAsync(CancellationToken cancellationToken) =>
        StatAsync(new WriteContentRequest { Action = WriteAction.Stat, Ref = _ref }, cancellationToken);

    /// <summary>
    /// Declares the blob of a session opened ahead: containerd looks the digest up (a read, which waits for no write)
    /// and ends the stream with AlreadyExists, aborting its ingest itself, when it has the content.
    /// </summary>
    public async ValueTask<bool> ExpectAsync(long size, Digest expected, CancellationToken cancellationToken)
    {
        _total = size;
        return await StatAsync(new WriteContentRequest { Action = WriteAction.Stat, Total = size, Expected = expected.Value }, cancellationToken);
    }

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        ThrowIfRepliesFailed();
        var request = new WriteContentRequest { Action = WriteAction.Write, Offset = _offset, Data = UnsafeByteOperations.UnsafeWrap(data) };
        if (!_sentFirst)
        {
            request.Ref = _ref;
            request.Total = _total;
        }

        await SendAsync(request, cancellationToken);
        _offset += data.Length;
    }

    public async ValueTask CommitAsync(long size, Digest digest, IReadOnlyDictionary<string, string>? labels, CancellationToken cancellationToken)
    {
        var request = new WriteContentRequest { Action = WriteAction.Commit, Offset = _offset, Total = size, Expected = digest.Value };
        if (!_sentFirst)
        {
            request.Ref = _ref;
        }

        if (labels is not null)
        {
            foreach (var (k, v) in labels)
            {
                request.Labels[k] = v;
            }
        }

        try
        {
            await SendAsync(request, cancellationToken);
            await _call.RequestStream.CompleteAsync();
            await (_replies ?? Task.CompletedTask);
            _done = true;
        }
        catch (RpcException ex)
        {
            var error = ContainerdErrors.Classify(ex, $"commit {digest}");
            if (error.Kind != FailureKind.AlreadyExists)
            {
                throw error;
            }

            _done = true;
        }
        catch (BackendException ex) when (ex.Kind == FailureKind.AlreadyExists)
        {
            // The reply reader classified it: another writer committed the same content first.
            _done = true;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_done)
        {
            _call.Dispose();
            try
            {
                // Leave no partial ingest behind; the lease's end would also collect it.
                using var abort = _content.AbortAsync(new AbortRequest { Ref = _ref }, _headers, deadline: DateTime.UtcNow.AddSeconds(10));
                await abort;
            }
            catch (RpcException)
            {
                // NotFound (nothing was written) or containerd is gone; either way nothing more to do here.
            }
        }

        try
        {
            await (_replies ?? Task.CompletedTask);
        }
        catch
        {
            // Replies of an abandoned stream fail by design.
        }

        _call.Dispose();
    }

    /// <summary>Sends a Stat and reads its reply; false when containerd answers that the expected content exists.</summary>
    private async ValueTask<bool> StatAsync(WriteContentRequest request, CancellationToken cancellationToken)
    {
        try
        {
            await _call.RequestStream.WriteAsync(request, cancellationToken);
            _sentFirst = true;
            if (!await _call.ResponseStream.MoveNext(cancellationToken))
            {
                throw new BackendException(FailureKind.Unknown, $"write {_ref}: stream ended without a status");
            }

            return true;
        }
        catch (RpcException ex)
        {
            var error = ContainerdErrors.Classify(ex, $"write {_ref}");
            if (error.Kind != FailureKind.AlreadyExists)
            {
                throw error;
            }

            _done = true;
            return false;
        }
    }

    private async ValueTask SendAsync(WriteContentRequest request, CancellationToken cancellationToken)
    {
        try
        {
            await _call.RequestStream.WriteAsync(request, cancellationToken);
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException)
        {
            // A rejected stream fails the write; the reply reader holds the status that explains why.
            await (_replies ?? Task.CompletedTask);
            if (ex is RpcException rpc)
            {
                throw ContainerdErrors.Classify(rpc, $"write {_ref}");
            }

            throw new BackendException(FailureKind.Unavailable, $"write {_ref}: {ex.Message}", ex);
        }

        _sentFirst = true;
        _replies ??= DrainRepliesAsync();
    }

    /// <summary>containerd answers every request; unread replies would stall the stream once its window fills.</summary>
    private async Task DrainRepliesAsync()
    {
        try
        {
            while (await _call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        }
        catch (RpcException ex)
        {
            throw ContainerdErrors.Classify(ex, $"write {_ref}");
        }
    }

    private void ThrowIfRepliesFailed()
    {
        if (_replies is { IsFaulted: true } replies)
        {
            replies.GetAwaiter().GetResult();
        }
    }
}
