using Imageimportd.Containerd;
using NUnit.Framework;

namespace Imageimportd.Tests.Unit;

/// <summary>
/// The client's keepalive against grpc-go's enforcement rules (<see cref="GrpcGoPingEnforcement"/>; the rules
/// themselves are checked against a real containerd in Integration.KeepAliveTests). SocketsHttpHandler pings when
/// it has received no frame for KeepAlivePingDelay; a call containerd works on silently (Diff.Apply of a big layer
/// on a slow disk) receives nothing but ping acks, which do not clear strikes, so the pings come one delay apart.
/// </summary>
[TestFixture]
public sealed class KeepAlivePolicyTests
{
    [Test]
    public void DefaultOptions_SilentCallOfThreeHours_NeverGoAway()
    {
        var options = new ContainerdOptions();

        var goAwayAt = SilentCall(options.KeepAlivePingDelay, TimeSpan.FromHours(3));

        Assert.That(goAwayAt, Is.Null, $"containerd would cut the call after {goAwayAt}");
    }

    [Test]
    public void DefaultOptions_PingDelay_AtLeastGrpcGoMinTimeWithMargin()
    {
        Assert.That(new ContainerdOptions().KeepAlivePingDelay, Is.GreaterThanOrEqualTo(GrpcGoPingEnforcement.MinTime + TimeSpan.FromSeconds(30)));
    }

    [Test]
    public void DefaultOptions_IdleConnection_NotPinged()
    {
        // Without an open stream every ping under 2 h apart is a strike; the client pings only with a call in flight.
        Assert.That(new ContainerdOptions().KeepAlivePingWhenIdle, Is.False);
    }

    [Test]
    public void DefaultHandler_UsesTheOptionsKeepAlive()
    {
        using var handler = ContainerdClient.CreateHandler(new ContainerdOptions(), "/nonexistent.sock", () => { });

        Assert.That(
            (handler.KeepAlivePingDelay, handler.KeepAlivePingPolicy),
            Is.EqualTo((ContainerdOptions.DefaultKeepAlivePingDelay, System.Net.Http.HttpKeepAlivePingPolicy.WithActiveRequests)));
    }

    [Test]
    public void FormerOptions_SilentCall_CutWithinMinutes()
    {
        // The settings issue 9 reported (30 s, pings always): the model must show the failure it saw.
        var goAwayAt = SilentCall(TimeSpan.FromSeconds(30), TimeSpan.FromHours(3));

        Assert.That(goAwayAt, Is.EqualTo(TimeSpan.FromSeconds(120)));
    }

    [Test]
    public void Model_ServerDataBetweenPings_ClearsStrikes()
    {
        var server = new GrpcGoPingEnforcement();
        var cut = false;
        for (var t = TimeSpan.FromSeconds(10); t < TimeSpan.FromMinutes(10); t += TimeSpan.FromSeconds(10))
        {
            server.ServerSentDataOrHeaders();
            cut |= server.Ping(t, streamOpen: true);
        }

        Assert.That(cut, Is.False);
    }

    /// <summary>Pings one delay apart over a call during which the server sends nothing; the time of GOAWAY, or null.</summary>
    private static TimeSpan? SilentCall(TimeSpan delay, TimeSpan length)
    {
        var server = new GrpcGoPingEnforcement();
        // The call's own request and the server's last response before it went quiet.
        server.ServerSentDataOrHeaders();
        for (var t = delay; t <= length; t += delay)
        {
            if (server.Ping(t, streamOpen: true))
            {
                return t;
            }
        }

        return null;
    }
}
