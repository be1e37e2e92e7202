using Serilog;

namespace Imageimportd.Daemon;

/// <summary>
/// The scan side of the daemon: arms the watch, runs the initial pass, says so, then a pass each time
/// <see cref="ScanTrigger.WaitAsync"/> ends, re-arming the watch before each (the directory may have appeared, or
/// been replaced). Contract: <see cref="RunAsync"/> calls <c>initialScanDone</c> once, after the initial pass, and
/// returns when <c>stop</c> is cancelled (between passes, or by throwing <see cref="OperationCanceledException"/>
/// out of one).
/// </summary>
public sealed class ScanLoop
{
    private readonly string _directory;
    private readonly Action _arm;
    private readonly ScanPass _pass;
    private readonly ScanTrigger _trigger;
    private readonly ILogger _log;

    /// <param name="arm">(Re)arms the watcher; safe to call on every pass.</param>
    public ScanLoop(string directory, Action arm, ScanPass pass, ScanTrigger trigger, ILogger log)
    {
        _directory = directory;
        _arm = arm;
        _pass = pass;
        _trigger = trigger;
        _log = log;
    }

    public async Task RunAsync(Action initialScanDone, CancellationToken stop)
    {
        if (!Directory.Exists(_directory))
        {
            _log.Warning("images directory {Directory:l} does not exist yet; watching for it", _directory);
        }

        _arm();
        await _pass.RunAsync(initial: true, stop);
        initialScanDone();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await _trigger.WaitAsync(stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            _arm();
            await _pass.RunAsync(initial: false, stop);
        }
    }
}
