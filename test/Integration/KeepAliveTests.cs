using Grpc.Core;
using Imageimportd.Containerd;
using Imageimportd.Errors;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Integration;

/// <summary>
/// The client's keepalive against a real containerd's grpc-go server. A call containerd works on silently for
/// minutes (Diff.Apply of a big layer on a slow disk) is reproduced by a Content.Write stream that sends no request:
/// containerd's handler waits in Recv, so the server has an open stream and sends nothing, as during a long Apply.
/// Waiting out the real 6-minute ping delay three times over is beyond test time, so these tests shorten the delay
/// to 1 s to check the two rules the defaults are built on (see Unit.KeepAlivePolicyTests for the defaults against
/// them): pings faster than grpc-go's 5-minute MinTime over a silent call are cut with GOAWAY, and a client that
/// pings only with calls in flight leaves an idle connection alone.
/// </summary>
[TestFixture]
public sealed class KeepAliveTests
{
    private static readonly TimeSpan FastPing = TimeSpan.FromSeconds(1);

    [Test]
    public async Task SilentCall_PingsFasterThanServerMinTime_ContainerdSendsGoAway()
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        using var client = new ContainerdClient(new ContainerdOptions { Address = containerd.Address, Namespace = SharedContainerd.NewNamespace("ping"), KeepAlivePingDelay = FastPing });
        await client.GetVersionAsync(CancellationToken.None).Bounded();

        using var silent = client.Content.Write(client.Headers(null));
        var ex = Assert.ThrowsAsync<RpcException>(async () => await silent.ResponseStream.MoveNext(CancellationToken.None).Bounded(60));

        await TestContext.Out.WriteLineAsync(ex!.ToString());
        Assert.That(ex.ToString(), Does.Contain("ENHANCE_YOUR_CALM"), ex.ToString());
        var classified = ContainerdErrors.Classify(ex, "content write");
        Assert.That((classified.Kind, classified.Message), Is.EqualTo((FailureKind.Unavailable, "content write: containerd closed the connection for too many keepalive pings (GOAWAY ENHANCE_YOUR_CALM)")));
    }

    [TestCase(false, 1, TestName = "IdleConnection_PingsOnlyWithCallsInFlight_ConnectionKept")]
    [TestCase(true, 2, TestName = "IdleConnection_PingsWhenIdle_ContainerdClosesIt")]
    public async Task IdleConnection_FastPings_ConnectionsOpened(bool pingWhenIdle, int expectedConnections)
    {
        var containerd = await SharedContainerd.GetAsync().Bounded();
        using var client = new ContainerdClient(new ContainerdOptions { Address = containerd.Address, Namespace = SharedContainerd.NewNamespace("idle"), KeepAlivePingDelay = FastPing, KeepAlivePingWhenIdle = pingWhenIdle });
        await client.GetVersionAsync(CancellationToken.None).Bounded();

        // Long enough for four pings (GOAWAY comes on the third strike) with a margin for a loaded machine.
        await Task.Delay(TimeSpan.FromSeconds(12));
        await client.GetVersionAsync(CancellationToken.None).Bounded();

        Assert.That(client.ConnectionsOpened, Is.EqualTo(expectedConnections));
    }
}
