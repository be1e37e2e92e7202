using Imageimportd.Errors;
using Imageimportd.Images;
using Serilog;

namespace Imageimportd.Import;

/// <summary>The one log line per file outcome, with properties Outcome, File, Images, Duration.</summary>
public static class ImportLog
{
    public static void Success(ILogger log, ImportResult result)
    {
        foreach (var warning in result.Warnings)
        {
            log.Warning("{File:l}: {Warning:l}", result.Path, warning);
        }

        foreach (var image in result.Images.Where(i => i.Change == ImageChange.Repointed))
        {
            log.Warning("{File:l}: {Image:l} re-pointed from {OldDigest:l} to {NewDigest:l}", result.Path, image.Name, image.PreviousTarget, image.Target.Digest);
        }

        if (result.UnpackAheadFault is { } fault)
        {
            log.Debug(fault, "{File:l}: unpack ahead stopped at a fault; the unpack after the archive did the rest", result.Path);
        }

        if (result.LayersAppliedFromStream > 0)
        {
            log.Debug("{File:l}: {Streamed} of {Unpacked} layer(s) applied from the archive stream, not read back", result.Path, result.LayersAppliedFromStream, result.LayersUnpacked);
        }

        var changed = result.Images.Any(i => i.Change != ImageChange.Unchanged);
        var outcome = changed || result.Images.Count == 0 ? ImportOutcome.Imported : ImportOutcome.Unchanged;
        var names = result.Images.Where(i => !i.Name.Contains('@', StringComparison.Ordinal)).Select(i => $"{i.Name}@{i.Target.Digest}").ToArray();
        log.ForContext("Outcome", Name(outcome))
            .ForContext("BytesRead", result.BytesRead)
            .ForContext("BytesSent", result.BytesSent)
            .ForContext("LayersUnpacked", result.LayersUnpacked)
            .Information("{Outcome:l} {File:l}: {Images:l} in {Duration:l}", Name(outcome), result.Path, names, Format(result.Duration));
    }

    public static void Failure(ILogger log, string path, Exception ex, TimeSpan duration)
    {
        var cause = FailureDescription.Of(ex, Scan.ArchiveNames.IsPullList(Path.GetFileName(path))).Cause;
        log.ForContext("Outcome", Name(ImportOutcome.Failed))
            .ForContext("ErrorKind", (ex as BackendException)?.Kind.ToString())
            .Error("failed {File:l}: {Cause:l} after {Duration:l}", path, cause, Format(duration));
        log.Debug(ex, "failure detail for {File:l}", path);
    }

    /// <summary>The <c>Outcome</c> property's value, as logged: the outcome's name in lower case.</summary>
    public static string Name(ImportOutcome outcome) => outcome switch
    {
        ImportOutcome.Imported => "imported",
        ImportOutcome.Unchanged => "unchanged",
        ImportOutcome.Failed => "failed",
        ImportOutcome.Pulled => "pulled",
        ImportOutcome.Unpinned => "unpinned",
        _ => outcome.ToString().ToLowerInvariant(),
    };

    private static string Format(TimeSpan t) => t.TotalSeconds < 10 ? $"{t.TotalMilliseconds:0}ms" : $"{t.TotalSeconds:0.0}s";
}
