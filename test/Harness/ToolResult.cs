using System.Text;

namespace Imageimportd.Tests.Harness;

/// <summary>What an external tool printed and how it exited.</summary>
public sealed record ToolResult(string CommandLine, int ExitCode, byte[] Stdout, string Stderr)
{
    public string StdoutText => Encoding.UTF8.GetString(Stdout);

    public bool Succeeded => ExitCode == 0;
}
