using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Imageimportd.Tests.Integration;

/// <summary>A running <c>imageimportd watch</c> whose log lines a test can wait for, and signal.</summary>
internal sealed class DaemonProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _newLine = new(0);

    private DaemonProcess(Process process)
    {
        _process = process;
        process.ErrorDataReceived += (_, e) => Add(e.Data);
        process.OutputDataReceived += (_, e) => Add(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
    }

    public int Pid => _process.Id;

    public string Log
    {
        get
        {
            lock (_gate)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    public static DaemonProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(ImageimportdCli.BinaryPath) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("JOURNAL_STREAM");
        psi.Environment.Remove("NOTIFY_SOCKET");
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        return new DaemonProcess(Process.Start(psi)!);
    }

    /// <summary>Waits for a log line matching <paramref name="pattern"/> that appears after <paramref name="skip"/> lines.</summary>
    public async Task<string> WaitForAsync(string pattern, int skip = 0, int seconds = 60)
    {
        var regex = new Regex(pattern);
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            lock (_gate)
            {
                foreach (var line in _lines.Skip(skip))
                {
                    if (regex.IsMatch(line))
                    {
                        return line;
                    }
                }
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || _process.HasExited)
            {
                throw new TimeoutException($"no log line matching /{pattern}/ (exited: {_process.HasExited}):\n{Log}");
            }

            await _newLine.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    public int LineCount
    {
        get
        {
            lock (_gate)
            {
                return _lines.Count;
            }
        }
    }

    public int Count(string pattern)
    {
        var regex = new Regex(pattern);
        lock (_gate)
        {
            return _lines.Count(regex.IsMatch);
        }
    }

    /// <summary>Sends SIGTERM and waits for the exit; returns the exit code and how long it took.</summary>
    public async Task<(int ExitCode, TimeSpan Took)> TerminateAsync(int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(seconds));
        return (_process.ExitCode, clock.Elapsed);
    }

    /// <summary>Waits for the process to exit on its own; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        await _process.WaitForExitAsync().WaitAsync(timeout);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _newLine.Dispose();
    }

    private void Add(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            _lines.Add(line);
        }

        try
        {
            _newLine.Release();
        }
        catch (SemaphoreFullException)
        {
        }
    }
}
