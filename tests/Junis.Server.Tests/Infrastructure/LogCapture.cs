using Serilog.Core;
using Serilog.Events;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>Every log event the server writes, at every level, for tests about what must never be logged.</summary>
public sealed class LogCapture : ILogEventSink
{
    private readonly List<LogEvent> _events = [];

    public void Emit(LogEvent logEvent)
    {
        lock (_events)
            _events.Add(logEvent);
    }

    public IReadOnlyList<LogEvent> Events
    {
        get
        {
            lock (_events)
                return [.. _events];
        }
    }

    /// <summary>Everything an event could put in a log line: message, template, properties, exception.</summary>
    public static string Render(LogEvent e)
    {
        using var text = new StringWriter();
        text.WriteLine(e.MessageTemplate.Text);
        text.WriteLine(e.RenderMessage());
        foreach (var (name, value) in e.Properties)
            text.WriteLine($"{name}={value}");
        text.WriteLine(e.Exception?.ToString());
        return text.ToString();
    }

    /// <summary>Settings that let every event through, from every source.</summary>
    public static Dictionary<string, string?> VerboseSettings() => new()
    {
        ["Serilog:MinimumLevel:Default"] = "Verbose",
        ["Serilog:MinimumLevel:Override:Microsoft.AspNetCore"] = "Verbose",
        ["Serilog:MinimumLevel:Override:Microsoft.EntityFrameworkCore"] = "Verbose",
        ["Serilog:MinimumLevel:Override:Junis.Server.Auth.ApiKeyAuthentication"] = "Verbose",
    };
}
