namespace Imageimportd.Queue;

public sealed class ImportQueueOptions
{
    /// <summary>How long a file's size and mtime must stay the same before it is imported.</summary>
    public TimeSpan SettleTime { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Files handed out and not yet completed, at most.</summary>
    public int MaxConcurrency { get; init; } = 2;

    /// <summary>The wait after the first transient failure; doubled after each further one.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(5);
}
