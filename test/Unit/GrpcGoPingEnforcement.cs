namespace Imageimportd.Tests.Unit;

/// <summary>
/// grpc-go's server-side ping enforcement (internal/transport/http2_server.go, handlePing, as in the grpc-go that
/// containerd 1.6 vendors) with the defaults containerd keeps (it sets no keepalive.EnforcementPolicy): a ping with
/// an open stream sooner than MinTime (5 min) after the previous ping is a strike; a ping without an open stream
/// sooner than 2 h after the previous one is a strike; the server sending data or headers makes the next ping clear
/// the strikes instead; more than 2 strikes is GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
/// </summary>
internal sealed class GrpcGoPingEnforcement
{
    public static readonly TimeSpan MinTime = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan NoStreamMinTime = TimeSpan.FromHours(2);
    public const int MaxPingStrikes = 2;

    private TimeSpan _lastPingAt = TimeSpan.MinValue / 2;
    private bool _resetStrikes;
    private int _strikes;

    public void ServerSentDataOrHeaders() => _resetStrikes = true;

    /// <summary>A client ping at <paramref name="now"/>; true when the server answers it with GOAWAY.</summary>
    public bool Ping(TimeSpan now, bool streamOpen)
    {
        var last = _lastPingAt;
        _lastPingAt = now;
        if (_resetStrikes)
        {
            _resetStrikes = false;
            _strikes = 0;
            return false;
        }

        if (last + (streamOpen ? MinTime : NoStreamMinTime) > now)
        {
            _strikes++;
        }

        return _strikes > MaxPingStrikes;
    }
}
