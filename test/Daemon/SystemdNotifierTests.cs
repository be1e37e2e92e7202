using System.Net.Sockets;
using System.Text;
using Imageimportd.Daemon;
using Imageimportd.Tests.Harness;
using NUnit.Framework;

namespace Imageimportd.Tests.Daemon;

[TestFixture]
public sealed class SystemdNotifierTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Test]
    public async Task Ready_SocketPath_SendsReadyDatagram()
    {
        using var dir = new TempDirectory("iid-notify-");
        var path = dir.Combine("notify.sock");
        using var systemd = Bind(path);
        using var notifier = new SystemdNotifier(path, null, null, Environment.ProcessId);

        Assert.That(notifier.IsEnabled, Is.True);
        Assert.That(notifier.Ready(), Is.True);
        Assert.That(await ReceiveAsync(systemd), Is.EqualTo("READY=1"));
        Assert.That(notifier.Status("importing 3 files"), Is.True);
        Assert.That(await ReceiveAsync(systemd), Is.EqualTo("STATUS=importing 3 files"));
        Assert.That(notifier.Watchdog(), Is.True);
        Assert.That(await ReceiveAsync(systemd), Is.EqualTo("WATCHDOG=1"));
        Assert.That(notifier.Stopping(), Is.True);
        Assert.That(await ReceiveAsync(systemd), Is.EqualTo("STOPPING=1"));
    }

    [Test]
    public async Task Status_MultilineText_SentAsOneLine()
    {
        using var dir = new TempDirectory("iid-notify-");
        var path = dir.Combine("notify.sock");
        using var systemd = Bind(path);
        using var notifier = new SystemdNotifier(path, null, null, Environment.ProcessId);

        notifier.Status("x\ny");

        Assert.That(await ReceiveAsync(systemd), Is.EqualTo("STATUS=x y"));
    }

    [Test]
    public async Task Ready_AbstractSocket_SendsReadyDatagram()
    {
        var name = "iid-test-" + Guid.NewGuid().ToString("N");
        using var systemd = Bind("\0" + name);
        using var notifier = new SystemdNotifier("@" + name, null, null, Environment.ProcessId);

        Assert.That(notifier.Ready(), Is.True);
        Assert.That(await ReceiveAsync(systemd), Is.EqualTo("READY=1"));
    }

    [TestCase(null)]
    [TestCase("")]
    [TestCase("relative/path")]
    public void Ready_NoSocket_NoOp(string? socket)
    {
        using var notifier = new SystemdNotifier(socket, null, null, Environment.ProcessId);

        Assert.That(notifier.IsEnabled, Is.False);
        Assert.That(notifier.Ready(), Is.False);
    }

    [Test]
    public void Ready_NobodyListening_ReturnsFalse()
    {
        using var dir = new TempDirectory("iid-notify-");
        using var notifier = new SystemdNotifier(dir.Combine("gone.sock"), null, null, Environment.ProcessId);

        Assert.That(notifier.Ready(), Is.False);
    }

    [TestCase("60000000", null, 42, 30_000)]
    [TestCase("60000000", "", 42, 30_000)]
    [TestCase("60000000", "42", 42, 30_000)]
    [TestCase("1000", "42", 42, 0.5)]
    [TestCase("60000000", "43", 42, null)]
    [TestCase("60000000", "x", 42, null)]
    [TestCase("0", null, 42, null)]
    [TestCase("-5", null, 42, null)]
    [TestCase("soon", null, 42, null)]
    [TestCase(null, null, 42, null)]
    public void WatchdogInterval_Environment_HalfOfUsecForUs(string? usec, string? pid, int processId, double? expectedMs)
    {
        using var notifier = new SystemdNotifier(null, usec, pid, processId);

        Assert.That(notifier.WatchdogInterval, Is.EqualTo(expectedMs is { } ms ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null));
    }

    private static Socket Bind(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        return socket;
    }

    private static async Task<string> ReceiveAsync(Socket socket)
    {
        var buffer = new byte[4096];
        var read = await socket.ReceiveAsync(buffer.AsMemory(), SocketFlags.None, CancellationToken.None).AsTask().WaitAsync(Bound);
        return Encoding.UTF8.GetString(buffer, 0, read);
    }
}
