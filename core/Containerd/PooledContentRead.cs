using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Imageimportd.Proto.Content;

namespace Imageimportd.Containerd;

/// <summary>
/// containerd's <c>Content.Read</c> with each response's bytes copied into a pooled buffer instead of a new array.
/// containerd answers in 1 MiB messages; the generated parser makes every one a fresh large-object-heap array, which
/// reading a 1 GiB layer back turned into ~3 GiB of garbage and a 150 MB peak. Same wire method, own marshaller.
/// </summary>
internal static class PooledContentRead
{
    private static readonly Method<ReadContentRequest, Chunk> Read = new(
        MethodType.ServerStreaming,
        "containerd.services.content.v1.Content",
        "Read",
        Marshallers.Create(static (ReadContentRequest r) => r.ToByteArray(), ReadContentRequest.Parser.ParseFrom),
        Marshallers.Create(static (Chunk _, SerializationContext _) => throw new NotSupportedException("responses are only read"), static context => Parse(context.PayloadAsReadOnlySequence())));

    /// <summary>
    /// Reads <paramref name="destination"/>.Length bytes of the blob at <paramref name="offset"/> (fewer only where the blob
    /// ends) and returns how many it read. gRPC failures surface as <see cref="RpcException"/>, for the caller to classify.
    /// </summary>
    public static async ValueTask<int> ReadIntoAsync(CallInvoker invoker, Metadata headers, string digest, long offset, Memory<byte> destination, CancellationToken cancellationToken)
    {
        var request = new ReadContentRequest { Digest = digest, Offset = offset, Size = destination.Length };
        using var call = invoker.AsyncServerStreamingCall(Read, null, new CallOptions(headers, cancellationToken: cancellationToken), request);
        var filled = 0;
        await foreach (var chunk in call.ResponseStream.ReadAllAsync(cancellationToken))
        {
            try
            {
                var n = Math.Min(chunk.Length, destination.Length - filled);
                chunk.Bytes.AsSpan(0, n).CopyTo(destination.Span[filled..]);
                filled += n;
            }
            finally
            {
                chunk.Return();
            }

            if (filled == destination.Length)
            {
                break;
            }
        }

        return filled;
    }

    /// <summary>ReadContentResponse { int64 offset = 1; bytes data = 2; }, with data copied into a rented array.</summary>
    internal static Chunk Parse(ReadOnlySequence<byte> payload)
    {
        var reader = new SequenceReader<byte>(payload);
        var chunk = new Chunk([], 0);
        while (!reader.End)
        {
            var tag = ReadVarint(ref reader);
            switch (tag & 7)
            {
                case 0:
                    ReadVarint(ref reader);
                    break;
                case 1:
                    Skip(ref reader, 8);
                    break;
                case 5:
                    Skip(ref reader, 4);
                    break;
                case 2:
                    var length = checked((int)ReadVarint(ref reader));
                    if (tag >> 3 == 2 && chunk.Length == 0)
                    {
                        var bytes = ArrayPool<byte>.Shared.Rent(length);
                        if (!reader.TryCopyTo(bytes.AsSpan(0, length)))
                        {
                            ArrayPool<byte>.Shared.Return(bytes);
                            throw Malformed();
                        }

                        chunk = new Chunk(bytes, length);
                    }

                    Skip(ref reader, length);
                    break;
                default:
                    chunk.Return();
                    throw Malformed();
            }
        }

        return chunk;
    }

    private static ulong ReadVarint(ref SequenceReader<byte> reader)
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (!reader.TryRead(out var b))
            {
                throw Malformed();
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw Malformed();
    }

    private static void Skip(ref SequenceReader<byte> reader, long count)
    {
        if (reader.Remaining < count)
        {
            throw Malformed();
        }

        reader.Advance(count);
    }

    private static InvalidDataException Malformed() => new("containerd sent a malformed content read response");

    /// <summary>One response's data in a rented array; <see cref="Return"/> gives it back.</summary>
    internal sealed class Chunk(byte[] bytes, int length)
    {
        public byte[] Bytes { get; private set; } = bytes;

        public int Length { get; } = length;

        public void Return()
        {
            if (Bytes.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(Bytes);
                Bytes = [];
            }
        }
    }
}
