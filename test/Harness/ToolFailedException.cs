namespace Imageimportd.Tests.Harness;

/// <summary>An external tool exited non-zero; the message carries its stderr.</summary>
public sealed class ToolFailedException : Exception
{
    public ToolFailedException(ToolResult result)
        : base($"'{result.CommandLine}' exited with {result.ExitCode}: {Tail(result.Stderr)}")
    {
        Result = result;
    }

    public ToolFailedException(string message)
        : base(message)
    {
    }

    public ToolFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ToolResult? Result { get; }

    private static string Tail(string text)
    {
        const int MaxChars = 4000;
        var trimmed = text.Trim();
        return trimmed.Length <= MaxChars ? trimmed : "..." + trimmed[^MaxChars..];
    }
}
