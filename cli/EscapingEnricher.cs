using Imageimportd.Logging;
using Serilog.Core;
using Serilog.Events;

namespace Imageimportd.Cli;

/// <summary>
/// The one place hostile text is made safe for the log: every string property (file, image, cause, …) and every
/// string in a list property has its control characters escaped (<see cref="LogText"/>), in text and JSON alike.
/// </summary>
internal sealed class EscapingEnricher : ILogEventEnricher
{
    public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
    {
        List<LogEventProperty>? replaced = null;
        foreach (var (name, value) in logEvent.Properties)
        {
            if (Escape(value) is { } escaped)
            {
                (replaced ??= []).Add(new LogEventProperty(name, escaped));
            }
        }

        foreach (var property in replaced ?? [])
        {
            logEvent.AddOrUpdateProperty(property);
        }
    }

    /// <summary>The escaped value, or null when nothing in it needs escaping.</summary>
    private static LogEventPropertyValue? Escape(LogEventPropertyValue value)
    {
        switch (value)
        {
            case ScalarValue { Value: string s } when LogText.NeedsEscape(s):
                return new ScalarValue(LogText.Escape(s));
            case SequenceValue sequence:
                var elements = sequence.Elements.Select(e => (Original: e, Escaped: Escape(e))).ToList();
                return elements.Any(e => e.Escaped is not null)
                    ? new SequenceValue(elements.Select(e => e.Escaped ?? e.Original))
                    : null;
            default:
                return null;
        }
    }
}
