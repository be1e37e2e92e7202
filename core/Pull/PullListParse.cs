namespace Imageimportd.Pull;

/// <summary>
/// What a pull list asks for: <see cref="Entries"/> in file order, each reference once (at its first line);
/// <see cref="Errors"/> for the lines that were skipped. Errors never stop the valid entries; an error with line
/// number 0 is about the whole file (too large, not UTF-8 text), which is then refused as a failed file.
/// </summary>
public sealed record PullListParse(IReadOnlyList<PullEntry> Entries, IReadOnlyList<PullListError> Errors)
{
    /// <summary>Why the whole file was refused, or null when it was read.</summary>
    public string? Refused => Errors.FirstOrDefault(e => e.LineNumber == 0)?.Reason;
}
