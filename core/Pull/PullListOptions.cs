namespace Imageimportd.Pull;

/// <summary>How a pull list is run.</summary>
public sealed record PullListOptions
{
    /// <summary>The pull list file; written (made absolute) as the <c>io.imageimportd.source</c> label.</summary>
    public required string Source { get; init; }

    /// <summary>Entries worked on at once (status, pull, labels); at least 1.</summary>
    public int MaxParallelPulls { get; init; } = 2;

    /// <summary>Set <c>io.cri-containerd.pinned=pinned</c>, so kubelet's image GC leaves the image alone.</summary>
    public bool Pin { get; init; } = true;
}
