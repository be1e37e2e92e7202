namespace Imageimportd.Tests.Fakes;

/// <summary>A fresh directory under the system temp directory, deleted (with its contents) on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("imageimportd-test-").FullName;
    }

    public string Path { get; }

    /// <summary>The absolute path of <paramref name="relative"/> inside this directory, creating its parent directories.</summary>
    public string Combine(string relative)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        return full;
    }

    /// <summary>Writes a file (creating parent directories) and returns its absolute path.</summary>
    public string Write(string relative, byte[] data)
    {
        var full = Combine(relative);
        File.WriteAllBytes(full, data);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory fails no test.
        }
        catch (UnauthorizedAccessException)
        {
            // Same.
        }
    }
}
