using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;

namespace Imageimportd.Containerd;

/// <summary>The one place gRPC status codes become <see cref="ErrorKind"/>s.</summary>
internal static class ContainerdErrors
{
    /// <summary>HTTP/2's ENHANCE_YOUR_CALM: grpc-go's GOAWAY for a client that pings more than its policy allows.</summary>
    private const long EnhanceYourCalm = 0xb;

    public static ContainerdException Classify(RpcException ex, string operation)
    {
        if (IsTooManyPings(ex))
        {
            // Grpc.Net.Client reports it as ResourceExhausted, which reads like a full disk; say what it is.
            return new ContainerdException(ErrorKind.Unavailable, $"{operation}: containerd closed the connection for too many keepalive pings (GOAWAY ENHANCE_YOUR_CALM)", ex);
        }

        var kind = ex.StatusCode switch
        {
            StatusCode.NotFound => ErrorKind.NotFound,
            StatusCode.AlreadyExists => ErrorKind.AlreadyExists,
            StatusCode.InvalidArgument or StatusCode.OutOfRange => ErrorKind.InvalidArgument,
            StatusCode.FailedPrecondition => ErrorKind.FailedPrecondition,
            StatusCode.Unavailable => ErrorKind.Unavailable,
            StatusCode.DeadlineExceeded => ErrorKind.DeadlineExceeded,
            StatusCode.ResourceExhausted => ErrorKind.ResourceExhausted,
            StatusCode.Cancelled => ErrorKind.Canceled,
            StatusCode.Aborted => ErrorKind.Aborted,
            // containerd reports ENOSPC from its store as Unknown; it is a resource condition that passes.
            StatusCode.Unknown or StatusCode.Internal when ex.Status.Detail.Contains("no space left on device", StringComparison.Ordinal) => ErrorKind.ResourceExhausted,
            // CRI reports a registry it cannot reach as Unknown; that passes like containerd being down does.
            StatusCode.Unknown when IsUnreachable(ex.Status.Detail) => ErrorKind.Unavailable,
            // A connection refused or reset surfaces as Internal/Unavailable with an HttpRequestException inside.
            StatusCode.Internal when ex.InnerException is HttpRequestException or SocketException or IOException => ErrorKind.Unavailable,
            _ => ErrorKind.Unknown,
        };
        // Grpc.Net.Client's detail for a call it cancelled ("Call canceled by the client.") is about itself; say what happened.
        var detail = ex.StatusCode == StatusCode.Cancelled ? "the call was cancelled"
            : string.IsNullOrEmpty(ex.Status.Detail) ? ex.StatusCode.ToString() : ex.Status.Detail;
        return new ContainerdException(kind, $"{operation}: {detail}", ex);
    }

    private static bool IsTooManyPings(RpcException ex)
    {
        for (Exception? e = ex.Status.DebugException ?? ex.InnerException; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException { ErrorCode: EnhanceYourCalm })
            {
                return true;
            }
        }

        return false;
    }

    private static readonly string[] UnreachableMarkers =
    [
        "connection refused", "connection reset by peer", "i/o timeout", "TLS handshake timeout",
        "503 Service Unavailable", "429 Too Many Requests", "no route to host", "network is unreachable",
    ];

    private static bool IsUnreachable(string detail) =>
        UnreachableMarkers.Any(m => detail.Contains(m, StringComparison.OrdinalIgnoreCase));

    /// <summary>Runs a unary call and classifies its failure.</summary>
    public static async ValueTask<T> Call<T>(string operation, AsyncUnaryCall<T> call)
    {
        try
        {
            return await call;
        }
        catch (RpcException ex)
        {
            throw Classify(ex, operation);
        }
        finally
        {
            call.Dispose();
        }
    }
}
