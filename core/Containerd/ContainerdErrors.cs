using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;
using Imageimportd.Errors;

namespace Imageimportd.Containerd;

/// <summary>
/// The one place gRPC status codes become <see cref="FailureKind"/>s: every adapter in this folder catches
/// <see cref="RpcException"/> and hands it here, so nothing else in the core reads a <see cref="StatusCode"/> (or the
/// detail text). Codes no class describes (Unimplemented, Internal, DataLoss, PermissionDenied, Unauthenticated, ...)
/// are <see cref="FailureKind.Unknown"/>, which is permanent.
/// </summary>
internal static class ContainerdErrors
{
    /// <summary>HTTP/2's ENHANCE_YOUR_CALM: grpc-go's GOAWAY for a client that pings more than its policy allows.</summary>
    private const long EnhanceYourCalm = 0xb;

    public static BackendException Classify(RpcException ex, string operation)
    {
        if (IsTooManyPings(ex))
        {
            // Grpc.Net.Client reports it as ResourceExhausted, which reads like a full disk; say what it is.
            return new BackendException(FailureKind.Unavailable, $"{operation}: containerd closed the connection for too many keepalive pings (GOAWAY ENHANCE_YOUR_CALM)", ex);
        }

        var kind = ex.StatusCode switch
        {
            StatusCode.NotFound => FailureKind.NotFound,
            StatusCode.AlreadyExists => FailureKind.AlreadyExists,
            StatusCode.InvalidArgument or StatusCode.OutOfRange => FailureKind.InvalidArgument,
            StatusCode.FailedPrecondition => FailureKind.FailedPrecondition,
            StatusCode.Unavailable => FailureKind.Unavailable,
            StatusCode.DeadlineExceeded => FailureKind.DeadlineExceeded,
            StatusCode.ResourceExhausted => FailureKind.ResourceExhausted,
            StatusCode.Cancelled => FailureKind.Canceled,
            StatusCode.Aborted => FailureKind.Aborted,
            // containerd reports ENOSPC from its store as Unknown; it is a resource condition that passes.
            StatusCode.Unknown or StatusCode.Internal when ex.Status.Detail.Contains("no space left on device", StringComparison.Ordinal) => FailureKind.ResourceExhausted,
            // CRI reports a registry it cannot reach as Unknown; that passes like containerd being down does.
            StatusCode.Unknown when IsUnreachable(ex.Status.Detail) => FailureKind.Unavailable,
            // A connection refused or reset surfaces as Internal/Unavailable with an HttpRequestException inside.
            StatusCode.Internal when ex.InnerException is HttpRequestException or SocketException or IOException => FailureKind.Unavailable,
            _ => FailureKind.Unknown,
        };
        // Grpc.Net.Client's detail for a call it cancelled ("Call canceled by the client.") is about itself; say what happened.
        var detail = ex.StatusCode == StatusCode.Cancelled ? "the call was cancelled"
            : string.IsNullOrEmpty(ex.Status.Detail) ? ex.StatusCode.ToString() : ex.Status.Detail;
        return new BackendException(kind, $"{operation}: {detail}", ex);
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
