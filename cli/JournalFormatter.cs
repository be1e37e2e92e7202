using Serilog.Events;
using Serilog.Formatting;

namespace Imageimportd.Cli;

/// <summary>
/// Under journald: a syslog priority prefix (<c>&lt;6&gt;</c>) instead of a timestamp, since the journal stamps
/// lines itself and reads the prefix as the entry's priority.
/// </summary>
internal sealed class JournalFormatter : ITextFormatter
{
    public void Format(LogEvent logEvent, TextWriter output)
    {
        var priority = logEvent.Level switch
        {
            LogEventLevel.Fatal => 2,
            LogEventLevel.Error => 3,
            LogEventLevel.Warning => 4,
            LogEventLevel.Information => 6,
            _ => 7,
        };
        output.Write('<');
        output.Write(priority);
        output.Write('>');
        logEvent.RenderMessage(output);
        if (logEvent.Exception is not null)
        {
            output.Write(": ");
            output.Write(Imageimportd.Logging.LogText.Escape(logEvent.Exception.Message));
        }

        output.WriteLine();
    }
}
