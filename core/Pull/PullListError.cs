namespace Imageimportd.Pull;

/// <summary>
/// A line of a pull list that was skipped, or (with <see cref="LineNumber"/> 0) a file that was not read at all.
/// <see cref="Line"/> is the trimmed line, cut to <see cref="PullList.MaxErrorLineLength"/> characters so a huge
/// line cannot flood the log.
/// </summary>
public sealed record PullListError(string File, int LineNumber, string Line, string Reason);
