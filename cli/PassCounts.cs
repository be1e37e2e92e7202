namespace Imageimportd.Cli;

/// <summary>Files started and finished (either way), for the line a signal prints.</summary>
internal sealed class PassCounts
{
    private int _started;
    private int _finished;

    public int Started => Volatile.Read(ref _started);

    public int Finished => Volatile.Read(ref _finished);

    public void Start() => Interlocked.Increment(ref _started);

    public void Finish() => Interlocked.Increment(ref _finished);
}
