namespace Imageimportd.Pull;

/// <summary>
/// One image a pull list asks for. <see cref="Reference"/> is the normalised form
/// (<c>nginx:1.25</c> → <c>docker.io/library/nginx:1.25</c>), which is also the image record's name in containerd;
/// <see cref="Line"/> is what the file said (trimmed, comment removed), for logs.
/// </summary>
public sealed record PullEntry(string Reference, int LineNumber, string Line);
