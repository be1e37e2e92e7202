using System.CommandLine;
using Imageimportd.Cli;

var root = new RootCommand("imageimportd: imports container image archives into containerd and keeps them pinned.");
var common = new CommonOptions(root);
root.Subcommands.Add(ImportOnceCommand.Create(common));
root.Subcommands.Add(WatchCommand.Create(common));
root.Subcommands.Add(CacheCommand.Create(common));
root.Subcommands.Add(CriImagesCommand.Create(common));
root.Subcommands.Add(StatusCommand.Create());
root.Subcommands.Add(CompletionCommand.Create());

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"imageimportd: {error.Message}");
    }

    Console.Error.WriteLine("Try 'imageimportd --help'.");
    return ExitCodes.Usage;
}

using var pacer = GcPacer.Start();

// Verbs handle SIGTERM/SIGINT themselves (the daemon settles in-flight imports first), so no forced exit here.
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
