using System.ComponentModel;
using System.Diagnostics;

namespace Imageimportd.Tests.Compression;

/// <summary>Runs the real compression tools (no shell), so the decoders are tested on what users actually produce.</summary>
internal static class ExternalTool
{
    public static byte[] Run(string tool, IEnumerable<string> arguments, byte[]? standardInput)
    {
        var info = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = standardInput is not null,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new InvalidOperationException($"{tool} did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"{tool} is not installed; the tests need gzip, zstd, bzip2, lz4 and xz (the project's scripts install them)", e);
        }

        using (process)
        {
            var output = Task.Run(() =>
            {
                using var buffer = new MemoryStream();
                process.StandardOutput.BaseStream.CopyTo(buffer);
                return buffer.ToArray();
            });
            var errors = process.StandardError.ReadToEndAsync();
            if (standardInput is not null)
            {
                process.StandardInput.BaseStream.Write(standardInput);
                process.StandardInput.Close();
            }

            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException(
                    $"{tool} {string.Join(' ', info.ArgumentList)} exited with {process.ExitCode}: {errors.Result}");
            }

            return output.Result;
        }
    }
}
