namespace Imageimportd.Pull;

/// <summary>
/// What a pull list asks for: <see cref="Entries"/> in file order, each reference once (at its first line);
/// <see cref="Errors"/> for the lines that were skipped. Errors never stop the valid entries.
/// </summary>
public sealed record PullListParse(IReadOnlyList<PullEntry> Entries, IReadOnlyList<PullListError> Errors);
