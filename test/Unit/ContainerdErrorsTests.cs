using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;
using Imageimportd.Containerd;
using Imageimportd.Errors;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>The one mapping from gRPC status codes to <see cref="FailureKind"/>: every code, and the detail rules.</summary>
[TestFixture]
public sealed class ContainerdErrorsTests
{
    private static readonly Dictionary<StatusCode, FailureKind> Expected = new()
    {
        [StatusCode.OK] = FailureKind.Unknown,
        [StatusCode.Cancelled] = FailureKind.Canceled,
        [StatusCode.Unknown] = FailureKind.Unknown,
        [StatusCode.InvalidArgument] = FailureKind.InvalidArgument,
        [StatusCode.DeadlineExceeded] = FailureKind.DeadlineExceeded,
        [StatusCode.NotFound] = FailureKind.NotFound,
        [StatusCode.AlreadyExists] = FailureKind.AlreadyExists,
        [StatusCode.PermissionDenied] = FailureKind.Unknown,
        [StatusCode.Unauthenticated] = FailureKind.Unknown,
        [StatusCode.ResourceExhausted] = FailureKind.ResourceExhausted,
        [StatusCode.FailedPrecondition] = FailureKind.FailedPrecondition,
        [StatusCode.Aborted] = FailureKind.Aborted,
        [StatusCode.OutOfRange] = FailureKind.InvalidArgument,
        [StatusCode.Unimplemented] = FailureKind.Unknown,
        [StatusCode.Internal] = FailureKind.Unknown,
        [StatusCode.Unavailable] = FailureKind.Unavailable,
        [StatusCode.DataLoss] = FailureKind.Unknown,
    };

    [Test]
    public void Classify_EveryStatusCode_OneFailureKind()
    {
        Assert.That(Expected.Keys, Is.EquivalentTo(Enum.GetValues<StatusCode>()), "a status code without an expectation");
        Assert.Multiple(() =>
        {
            foreach (var (code, kind) in Expected)
            {
                var classified = ContainerdErrors.Classify(new RpcException(new Status(code, "some detail")), "get image app:1");
                Assert.That(classified.Kind, Is.EqualTo(kind), code.ToString());
            }
        });
    }

    [Test]
    public void Classify_Detail_MessageNamesOperationAndDetail()
    {
        var classified = ContainerdErrors.Classify(new RpcException(new Status(StatusCode.NotFound, "image \"app:1\": not found")), "get image app:1");

        Assert.That(classified.Message, Is.EqualTo("get image app:1: image \"app:1\": not found"));
        Assert.That(classified.InnerException, Is.InstanceOf<RpcException>());
    }

    [Test]
    public void Classify_NoDetail_MessageNamesCode()
    {
        var classified = ContainerdErrors.Classify(new RpcException(new Status(StatusCode.Unavailable, "")), "version");

        Assert.That(classified.Message, Is.EqualTo("version: Unavailable"));
    }

    [Test]
    public void Classify_CancelledByClient_SaysTheCallWasCancelled()
    {
        var classified = ContainerdErrors.Classify(new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client.")), "apply layer");

        Assert.That((classified.Kind, classified.Message), Is.EqualTo((FailureKind.Canceled, "apply layer: the call was cancelled")));
    }

    [TestCase(StatusCode.Unknown)]
    [TestCase(StatusCode.Internal)]
    public void Classify_NoSpaceLeftDetail_ResourceExhausted(StatusCode code)
    {
        var classified = ContainerdErrors.Classify(new RpcException(new Status(code, "failed to copy: write /var/lib/containerd/x: no space left on device")), "commit");

        Assert.That(classified.Kind, Is.EqualTo(FailureKind.ResourceExhausted));
    }

    [TestCase("failed to do request: dial tcp 127.0.0.1:5000: connect: connection refused")]
    [TestCase("unexpected status: 503 Service Unavailable")]
    [TestCase("unexpected status: 429 Too Many Requests")]
    public void Classify_UnknownWithUnreachableRegistry_Unavailable(string detail)
    {
        var classified = ContainerdErrors.Classify(new RpcException(new Status(StatusCode.Unknown, detail)), "CRI pull app:1");

        Assert.That(classified.Kind, Is.EqualTo(FailureKind.Unavailable));
    }

    [Test]
    public void Classify_InternalWithConnectionFailureInside_Unavailable()
    {
        var inner = new HttpRequestException("connection refused", new SocketException((int)SocketError.ConnectionRefused));
        var classified = ContainerdErrors.Classify(new RpcException(new Status(StatusCode.Internal, "Error starting gRPC call.", inner)), "version");

        Assert.That(classified.Kind, Is.EqualTo(FailureKind.Unavailable));
    }

    [Test]
    public void Sources_StatusCodes_ReadOnlyInContainerdErrors()
    {
        // Adapters catch RpcException and hand it to ContainerdErrors; branching on a code elsewhere splits the mapping.
        var offenders = new[] { "core", "cli" }
            .SelectMany(dir => Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, dir), "*.cs", SearchOption.AllDirectories))
            .Where(p => !p.Contains("/obj/", StringComparison.Ordinal) && !p.Contains("/bin/", StringComparison.Ordinal))
            .Where(p => Path.GetFileName(p) != "ContainerdErrors.cs")
            .SelectMany(p => File.ReadLines(p).Select((line, i) => (p, i, line)))
            .Where(l => l.line.Contains("StatusCode", StringComparison.Ordinal) || l.line.Contains("Status.Detail", StringComparison.Ordinal))
            .Select(l => $"{Path.GetRelativePath(RepoPaths.Root, l.p)}:{l.i + 1}: {l.line.Trim()}");

        Assert.That(offenders, Is.Empty);
    }

    [Test]
    public void Classify_InternalWithoutConnectionFailure_Unknown()
    {
        var classified = ContainerdErrors.Classify(new RpcException(new Status(StatusCode.Internal, "panic: nil map")), "version");

        Assert.That(classified.Kind, Is.EqualTo(FailureKind.Unknown));
    }
}
