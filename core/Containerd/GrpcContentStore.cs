using System.Runtime.CompilerServices;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Imageimportd.Content;
using Imageimportd.Errors;
using Imageimportd.Oci;
using Imageimportd.Proto.Content;

namespace Imageimportd.Containerd;

/// <summary>containerd's content service behind <see cref="IContentStore"/>; every call carries the namespace and lease.</summary>
public sealed class GrpcContentStore(ContainerdClient client, string? lease) : IContentStore
{
    public async ValueTask<IContentWriter?> OpenWriterAsync(string reference, long size, Digest? expected, CancellationToken cancellationToken) =>
        await OpenAsync(reference, writer => writer.StartAsync(size, expected, cancellationToken), cancellationToken);

    public async ValueTask<IContentWriter> OpenWriterAheadAsync(string reference, CancellationToken cancellationToken) =>
        await OpenAsync(reference, writer => writer.OpenAheadAsync(cancellationToken), cancellationToken)
        ?? throw new BackendException(FailureKind.Unknown, $"write {reference}: containerd answered a Stat without a digest with AlreadyExists");

    /// <summary>One Content.Write stream, started by <paramref name="start"/>; null (the stream closed) when that says the content exists.</summary>
    private async ValueTask<GrpcContentWriter?> OpenAsync(string reference, Func<GrpcContentWriter, ValueTask<bool>> start, CancellationToken cancellationToken)
    {
        var call = client.Content.Write(client.Headers(lease), cancellationToken: cancellationToken);
        return await WriterStart.KeepIfAsync(new GrpcContentWriter(call, reference, client.Content, client.Headers(lease)), start);
    }

    public async ValueTask<byte[]> ReadAsync(Digest digest, long offset, int maxBytes, CancellationToken cancellationToken)
    {
        try
        {
            using var call = client.Content.Read(new ReadContentRequest { Digest = digest.Value, Offset = offset, Size = maxBytes }, client.Headers(lease), cancellationToken: cancellationToken);
            using var buffer = new MemoryStream();
            await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
            {
                chunk.Data.WriteTo(buffer);
                if (buffer.Length > maxBytes)
                {
                    break;
                }
            }

            return buffer.Length > maxBytes ? buffer.ToArray()[..maxBytes] : buffer.ToArray();
        }
        catch (RpcException ex)
        {
            throw ContainerdErrors.Classify(ex, $"read {digest}");
        }
    }

    public async ValueTask<int> ReadIntoAsync(Digest digest, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        try
        {
            return await PooledContentRead.ReadIntoAsync(client.Channel.CreateCallInvoker(), client.Headers(lease), digest.Value, offset, destination, cancellationToken);
        }
        catch (RpcException ex)
        {
            throw ContainerdErrors.Classify(ex, $"read {digest}");
        }
    }

    public async ValueTask<ContentInfo?> InfoAsync(Digest digest, CancellationToken cancellationToken)
    {
        try
        {
            var response = await ContainerdErrors.Call($"content info {digest}", client.Content.InfoAsync(new InfoRequest { Digest = digest.Value }, client.Headers(lease), cancellationToken: cancellationToken));
            return ToInfo(response.Info);
        }
        catch (BackendException ex) when (ex.Kind == FailureKind.NotFound)
        {
            return null;
        }
    }

    public async ValueTask UpdateLabelsAsync(Digest digest, IReadOnlyDictionary<string, string> labels, CancellationToken cancellationToken)
    {
        var info = new Info { Digest = digest.Value };
        var mask = new FieldMask();
        foreach (var (key, value) in labels)
        {
            info.Labels[key] = value;
            mask.Paths.Add("labels." + key);
        }

        await ContainerdErrors.Call($"label {digest}", client.Content.UpdateAsync(new UpdateRequest { Info = info, UpdateMask = mask }, client.Headers(lease), cancellationToken: cancellationToken));
    }

    public async IAsyncEnumerable<ContentInfo> ListAsync(IReadOnlyList<string> filters, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new ListContentRequest();
        request.Filters.Add(filters);
        using var call = client.Content.List(request, client.Headers(lease), cancellationToken: cancellationToken);
        var stream = call.ResponseStream;
        while (true)
        {
            try
            {
                if (!await stream.MoveNext(cancellationToken))
                {
                    yield break;
                }
            }
            catch (RpcException ex)
            {
                throw ContainerdErrors.Classify(ex, "list content");
            }

            foreach (var info in stream.Current.Info)
            {
                yield return ToInfo(info);
            }
        }
    }

    private static ContentInfo ToInfo(Info info) =>
        new(Digest.Parse(info.Digest), info.Size, new Dictionary<string, string>(info.Labels, StringComparer.Ordinal));
}
