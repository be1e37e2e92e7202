namespace Imageimportd.Tests.Harness;

/// <summary>Locates the checkout (the directory holding imageimportd.sln) from the test binaries.</summary>
public static class RepoPaths
{
    private static readonly Lazy<string> RootLazy = new(FindRoot);

    public static string Root => RootLazy.Value;

    /// <summary>The containerd 1.6/1.7 config template shared with scripts/containerd-sandbox.sh (see <see cref="ContainerdBinaries.ConfigTemplate"/>).</summary>
    public static string ContainerdConfigTemplate => Path.Combine(Root, "scripts", "containerd-config.toml.in");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "imageimportd.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException($"no imageimportd.sln above {AppContext.BaseDirectory}");
    }
}
