using Serilog;
using Serilog.Events;
using Serilog.Formatting.Json;

namespace Imageimportd.Cli;

/// <summary>Builds the process logger: text for terminals, JSON lines on request, journald-style under systemd.</summary>
internal sealed record LogSettings(string Level, string Format)
{
    public ILogger Create()
    {
        var level = Level.ToLowerInvariant() switch
        {
            "verbose" or "trace" => LogEventLevel.Verbose,
            "debug" => LogEventLevel.Debug,
            "information" or "info" => LogEventLevel.Information,
            "warning" or "warn" => LogEventLevel.Warning,
            "error" => LogEventLevel.Error,
            _ => throw new ArgumentException($"unknown log level \"{Level}\""),
        };
        var config = new LoggerConfiguration().MinimumLevel.Is(level).Enrich.With(new EscapingEnricher());
        return Format.ToLowerInvariant() switch
        {
            "json" => config.WriteTo.Console(new JsonFormatter(renderMessage: true), standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger(),
            "text" when Environment.GetEnvironmentVariable("JOURNAL_STREAM") is { Length: > 0 } =>
                config.WriteTo.Console(new JournalFormatter(), standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger(),
            "text" => config.WriteTo.Console(
                outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffzzz} {Level:u4} {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose).CreateLogger(),
            _ => throw new ArgumentException($"unknown log format \"{Format}\" (text or json)"),
        };
    }
}
