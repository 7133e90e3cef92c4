using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace Junis.Server.Logging;

public static class LoggingServiceCollectionExtensions
{
    /// <summary>Serilog for everything the server logs: compact JSON lines, or plain text in Development.</summary>
    public static WebApplicationBuilder AddJunisLogging(this WebApplicationBuilder builder)
    {
        // The server's own logger, not the process-wide static one, so hosts that share a process keep their logs apart.
        builder.Services.AddSerilog((services, log) =>
        {
            // A request is one line, the request log's, even where the settings name no levels: the framework's and the
            // key check's own events for every request are kept to warnings unless the settings (read after) say otherwise.
            log.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.EntityFrameworkCore", LogEventLevel.Warning)
                .MinimumLevel.Override("Junis.Server.Auth.ApiKeyAuthentication", LogEventLevel.Warning);
            log.ReadFrom.Configuration(builder.Configuration).ReadFrom.Services(services).Enrich.FromLogContext();
            if (builder.Environment.IsDevelopment()) log.WriteTo.Console(formatProvider: System.Globalization.CultureInfo.InvariantCulture);
            else log.WriteTo.Console(new CompactJsonFormatter());
        }, preserveStaticLogger: true);

        // Serilog's factory builds a new logger, caches and all, on every call, and the framework calls it on every
        // request (for each authentication handler, each JSON result): keep one per category, as Microsoft's factory does.
        var serilog = builder.Services.Last(d => d.ServiceType == typeof(ILoggerFactory));
        builder.Services.Remove(serilog);
        builder.Services.AddSingleton<ILoggerFactory>(services =>
            new OneLoggerPerCategory((ILoggerFactory)serilog.ImplementationFactory!(services)));
        return builder;
    }

    /// <summary>One event per request, with the status it finally got, written through the server's own logger.</summary>
    public static IApplicationBuilder UseJunisRequestLogging(this WebApplication app)
    {
        var logger = app.Services.GetRequiredService<Serilog.ILogger>();
        return app.UseSerilogRequestLogging(options =>
        {
            options.Logger = logger;
            options.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0000} ms ({RequestId})";
            // The id the caller was given: the server's own, or the model's for a chat completion that has one.
            options.EnrichDiagnosticContext = static (context, http) =>
                context.Set("RequestId", http.Response.Headers[RequestIds.Header] is { Count: > 0 } id ? id.ToString() : http.TraceIdentifier);
        });
    }
}
