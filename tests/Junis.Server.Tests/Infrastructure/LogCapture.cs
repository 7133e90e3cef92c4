using System.Globalization;
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

    /// <summary>The first event after the first <paramref name="skip"/> that matches, once it has been written.</summary>
    public async Task<LogEvent> WaitForAsync(Func<LogEvent, bool> match, int skip = 0)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (Events.Skip(skip).FirstOrDefault(match) is { } found)
                return found;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("The expected log event was not written within 10 s.");
            await Task.Delay(20);
        }
    }

    /// <summary>Everything an event could put in a log line: message, template, properties, exception.</summary>
    public static string Render(LogEvent e)
    {
        using var text = new StringWriter();
        text.WriteLine(e.MessageTemplate.Text);
        text.WriteLine(e.RenderMessage(CultureInfo.InvariantCulture));
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
