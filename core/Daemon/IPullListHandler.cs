namespace Imageimportd.Daemon;

/// <summary>Handles one <c>.txt</c> pull list: the images it names are made present and pinned.</summary>
public interface IPullListHandler
{
    /// <summary>Returns the image names the list now supplies. Throws on failures worth retrying.</summary>
    Task<IReadOnlyList<string>> HandleAsync(string path, CancellationToken cancellationToken);
}
