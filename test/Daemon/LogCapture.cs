using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Imageimportd.Tests.Daemon;

/// <summary>A Serilog logger whose events are kept in memory, rendered as the console shows them (without quotes).</summary>
internal sealed class LogCapture : ILogEventSink
{
    private readonly Lock _gate = new();
    private readonly List<(LogEventLevel Level, string Text)> _events = [];

    public LogCapture()
    {
        Logger = new LoggerConfiguration().MinimumLevel.Debug().WriteTo.Sink(this).CreateLogger();
    }

    public ILogger Logger { get; }

    /// <summary>Every line at or above <paramref name="level"/>, in order.</summary>
    public IReadOnlyList<string> Lines(LogEventLevel level = LogEventLevel.Debug)
    {
        lock (_gate)
        {
            return [.. _events.Where(e => e.Level >= level).Select(e => e.Text)];
        }
    }

    public void Emit(LogEvent logEvent)
    {
        var text = logEvent.RenderMessage();
        lock (_gate)
        {
            _events.Add((logEvent.Level, text));
        }
    }
}
