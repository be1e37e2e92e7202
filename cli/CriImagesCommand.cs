using System.CommandLine;
using Imageimportd.Containerd;
using Imageimportd.Errors;

namespace Imageimportd.Cli;

/// <summary><c>cri-images</c>: the images kubelet sees through CRI, with their pins.</summary>
internal static class CriImagesCommand
{
    public static Command Create(CommonOptions common)
    {
        var command = new Command("cri-images", "List images as kubelet sees them through CRI.");
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var client = new ContainerdClient(common.Containerd(parse));
            try
            {
                var images = await new CriImages(client).ListAsync(cancellationToken);
                // CRI reports pins from containerd 1.7 on; 1.6 always says no.
                Console.WriteLine($"{"IMAGE",-60} {"ID",-14} {"PINNED",-6} SIZE");
                foreach (var image in images.OrderBy(Name, StringComparer.Ordinal))
                {
                    var name = Name(image);
                    var id = image.Id.StartsWith("sha256:", StringComparison.Ordinal) ? image.Id[7..19] : image.Id;
                    Console.WriteLine($"{name,-60} {id,-14} {(image.Pinned ? "yes" : "no"),-6} {image.Size}");
                    foreach (var digest in image.RepoDigests)
                    {
                        Console.WriteLine($"  {digest}");
                    }
                }

                return ExitCodes.Ok;
            }
            catch (BackendException ex)
            {
                await Console.Error.WriteLineAsync($"imageimportd: {ex.Message}");
                return ExitCodes.SomeFailed;
            }
        });
        return command;
    }

    private static string Name(CriImage image) =>
        image.RepoTags.Count > 0 ? image.RepoTags[0] : image.RepoDigests.Count > 0 ? image.RepoDigests[0] : "<none>";
}
