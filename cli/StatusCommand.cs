using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Imageimportd.Observe;

namespace Imageimportd.Cli;

/// <summary>
/// <c>status --images DIR</c>: asks the daemon watching DIR (through its state file, not the cache) what it is doing.
/// Exit 0; with <c>--ready</c>, 0 only once the initial pass is done and 1 before; 3 when no daemon watches DIR.
/// </summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var images = new Option<string>("--images") { Description = "the directory the daemon watches", Required = true, HelpName = "DIR" };
        var json = new Option<bool>("--json") { Description = "print the daemon's state as JSON" };
        var ready = new Option<bool>("--ready") { Description = "exit 0 only once the initial pass is done (a readiness probe); print nothing else" };
        var runtimeDir = FleetOptions.RuntimeDirOption();
        var command = new Command("status", "Show what the daemon watching DIR is doing: each file's state, the initial pass, containerd.")
        {
            images, json, ready, runtimeDir,
        };
        command.SetAction(parse =>
        {
            var dir = Path.GetFullPath(parse.GetValue(images)!);
            var path = StatusPaths.StateFile(StatusPaths.RuntimeDirectory(parse.GetValue(runtimeDir)), dir);
            byte[] bytes;
            try
            {
                bytes = File.ReadAllBytes(path);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                Console.Error.WriteLine($"imageimportd: no daemon is watching {dir} (no state file {path})");
                return ExitCodes.NoDaemon;
            }

            using var state = JsonDocument.Parse(bytes);
            var root = state.RootElement;
            var pid = root.GetProperty("pid").GetInt32();
            if (!StatusPaths.IsImageimportd(pid))
            {
                Console.Error.WriteLine($"imageimportd: no daemon is watching {dir} (process {pid} is gone; {path} is stale)");
                return ExitCodes.NoDaemon;
            }

            var isReady = root.GetProperty("ready").GetBoolean();
            if (parse.GetValue(ready))
            {
                if (!isReady)
                {
                    Console.Error.WriteLine($"imageimportd: not ready: the initial pass over {dir} is not done ({root.GetProperty("queueDepth").GetInt32()} files pending)");
                }

                return isReady ? ExitCodes.Ok : ExitCodes.SomeFailed;
            }

            if (parse.GetValue(json))
            {
                Console.Out.Write(System.Text.Encoding.UTF8.GetString(bytes));
                Console.Out.WriteLine();
                return ExitCodes.Ok;
            }

            PrintText(root, pid);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void PrintText(JsonElement root, int pid)
    {
        var o = Console.Out;
        var containerd = root.GetProperty("containerd");
        var reachable = containerd.GetProperty("reachable");
        o.WriteLine($"daemon:      pid {pid}, watching {root.GetProperty("imagesDirectory").GetString()} since {Time(root.GetProperty("startedAt"))}");
        o.WriteLine($"initial pass: {(root.GetProperty("initialPassDone").GetBoolean() ? "done (ready)" : "in progress (not ready)")}");
        o.WriteLine($"containerd:  {(reachable.ValueKind == JsonValueKind.True ? "reachable" : reachable.ValueKind == JsonValueKind.False ? "UNREACHABLE" : "waiting for it")} at {containerd.GetProperty("address").GetString()}");
        var scan = root.TryGetProperty("lastFullScan", out var s) ? Time(s) : "none yet";
        o.WriteLine($"queue:       {root.GetProperty("queueDepth").GetInt32()} pending; last full scan {scan}");
        var files = root.GetProperty("files");
        if (files.GetArrayLength() == 0)
        {
            o.WriteLine("no files");
            return;
        }

        o.WriteLine();
        o.WriteLine($"{"STATE",-10} {"FILE",-40} DETAIL");
        foreach (var file in files.EnumerateArray())
        {
            var state = file.GetProperty("state").GetString()!;
            var detail = state switch
            {
                "importing" when file.TryGetProperty("totalBytes", out var total) && total.GetInt64() > 0 =>
                    string.Create(CultureInfo.InvariantCulture, $"{100.0 * file.GetProperty("readBytes").GetInt64() / total.GetInt64():0}% ({file.GetProperty("readBytes").GetInt64() >> 20}/{total.GetInt64() >> 20} MiB)"),
                "failed" => $"{Str(file, "cause")}: {Str(file, "error")}; next try {(file.TryGetProperty("nextRetry", out var next) ? Time(next) : "?")}",
                "imported" or "unchanged" => $"{string.Join(", ", file.TryGetProperty("images", out var names) ? names.EnumerateArray().Select(n => n.GetString()).Where(n => n is not null && !n.Contains('@', StringComparison.Ordinal)) : [])} ({Time(file.GetProperty("at"))})",
                _ => string.Empty,
            };
            o.WriteLine($"{state,-10} {file.GetProperty("path").GetString(),-40} {detail}");
        }
    }

    private static string Str(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetString() ?? string.Empty : string.Empty;

    private static string Time(JsonElement e) =>
        e.TryGetDateTimeOffset(out var t) ? t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : e.GetString() ?? string.Empty;
}
