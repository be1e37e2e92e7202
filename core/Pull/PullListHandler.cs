using Imageimportd.Daemon;
using Imageimportd.Errors;
using Imageimportd.Images;
using Imageimportd.Import;
using Serilog;

namespace Imageimportd.Pull;

/// <summary>
/// Runs one <c>.txt</c> pull list and logs its outcome once: invalid lines with file and line number, then one line
/// per reference (Outcome pulled / unchanged / failed). A failure that can pass (registry or containerd unreachable)
/// is rethrown as transient so the daemon retries the list with backoff.
/// </summary>
public sealed class PullListHandler(IImagePuller puller, IImageStore images, bool pin, int parallel, ILogger log) : IPullListHandler
{
    public async Task<IReadOnlyList<string>> HandleAsync(string path, CancellationToken cancellationToken)
    {
        var parse = await PullList.ReadAsync(path, cancellationToken);
        if (parse.Refused is { } refused)
        {
            // A failed file like a bad archive: one error line (logged by the caller), exit 1, retried when it changes.
            throw new InvalidDataException(refused);
        }

        foreach (var error in parse.Errors)
        {
            log.Warning("{File:l}:{Line}: {Reason:l}, skipped: {Text:l}", error.File, error.LineNumber, error.Reason, error.Line);
        }

        var result = await new PullListRunner(puller, images, new PullListOptions { Source = path, MaxParallelPulls = parallel, Pin = pin })
            .RunAsync(parse.Entries, cancellationToken);
        foreach (var entry in result.Entries)
        {
            var outcome = ImportLog.Name(entry.Outcome switch
            {
                PullOutcome.Pulled => ImportOutcome.Pulled,
                PullOutcome.AlreadyPresent => ImportOutcome.Unchanged,
                _ => ImportOutcome.Failed,
            });
            var line = log.ForContext("Outcome", outcome).ForContext("File", path).ForContext("Duration", entry.Duration);
            if (entry.Outcome == PullOutcome.Failed)
            {
                line.Error("failed to pull {Image:l} ({File:l}:{Line}): {Reason:l}", entry.Entry.Reference, path, entry.Entry.LineNumber, entry.FailureReason);
            }
            else
            {
                line.Information("{Outcome:l} {Image:l} from {File:l}", outcome, entry.Entry.Reference, path);
            }
        }

        if (result.AnyTransientFailure)
        {
            throw new BackendException(FailureKind.Unavailable, $"{result.Failed} of {result.Entries.Count} pulls failed and may succeed later");
        }

        if (result.Failed > 0)
        {
            throw new InvalidDataException($"{result.Failed} of {result.Entries.Count} references could not be pulled");
        }

        // Every name the list supplies, written this time or not: the cache records them so pins follow the list.
        return result.Entries.Where(e => e.Outcome != PullOutcome.Failed)
            .SelectMany(e => e.LabeledNames.Prepend(e.Entry.Reference)).Distinct(StringComparer.Ordinal).ToList();
    }
}
