using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Junis.Server.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>
    /// OpenTelemetry for what <see cref="TelemetrySwitches"/> turns on: ASP.NET Core's, HttpClient's, Npgsql's and the
    /// server's own metrics and spans, the model calls' by the GenAI conventions, Prometheus's <c>/metrics</c>, and OTLP
    /// when its standard variables name an endpoint. With everything off, nothing listens and nothing is measured.
    /// </summary>
    public static IServiceCollection AddTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<TracingOptions>().BindConfiguration(TracingOptions.Section);
        services.AddSingleton<ServerMetrics>();
        var switches = TelemetrySwitches.From(configuration);
        services.AddSingleton(switches);
        if (!switches.Any)
            return services;

        var telemetry = services.AddOpenTelemetry().ConfigureResource(resource => resource.AddService(
            configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } named ? named : "junis-server"));
        if (switches.Metrics)
        {
            telemetry.WithMetrics(metrics =>
            {
                metrics.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation()
                    .AddMeter(ServerMetrics.MeterName)
                    .AddPrometheusExporter();
                // Counted twice per request, and said better by the request durations' counts: not listened to at all.
                foreach (var perRequest in DroppedPerRequest)
                    metrics.AddView(perRequest, MetricStreamConfiguration.Drop);
                Npgsql.MeterProviderBuilderExtensions.AddNpgsqlInstrumentation(metrics);
                if (switches.OtlpMetrics)
                    metrics.AddOtlpExporter();
            });
        }
        if (switches.Traces)
        {
            telemetry.WithTracing(tracing =>
            {
                tracing.AddSource(ServerTelemetry.SourceName)
                    // The scrapes and probes would outnumber the requests worth tracing.
                    .AddAspNetCoreInstrumentation(options => options.Filter = http => !IsProbeOrScrape(http.Request.Path))
                    .AddHttpClientInstrumentation();
                Npgsql.TracerProviderBuilderExtensions.AddNpgsql(tracing);
                if (switches.OtlpTraces)
                    tracing.AddOtlpExporter();
            });
        }
        return services;
    }

    /// <summary>
    /// The Prometheus endpoint, on its own port when <see cref="MetricsOptions.Port"/> names one; and the timing of each
    /// request that calls a model (<see cref="GatewayTiming"/>).
    /// </summary>
    public static WebApplication UseTelemetry(this WebApplication app)
    {
        var switches = app.Services.GetRequiredService<TelemetrySwitches>();
        if (!switches.Metrics)
            return app;
        var scrape = app.MapPrometheusScrapingEndpoint("/metrics");
        if (switches.MetricsPort is { } port)
        {
            scrape.RequireHost($"*:{port}");
            // The internal port serves the metrics alone: nothing of the API is reachable through it.
            app.Use((context, next) => context.Connection.LocalPort == port && !context.Request.Path.StartsWithSegments("/metrics")
                ? Results.NotFound().ExecuteAsync(context)
                : next(context));
            // Given any address, the server no longer reads its configured ones: they are given with this one.
            foreach (var url in ConfiguredUrls(app.Configuration))
                app.Urls.Add(url);
            app.Urls.Add($"http://*:{port}");
        }
        GatewayTiming.UseGatewayTiming(app, app.Services.GetRequiredService<ServerMetrics>());
        return app;
    }

    /// <summary>The addresses the host would serve on by itself: <c>urls</c>, else <c>http_ports</c> and <c>https_ports</c>, else its default.</summary>
    private static string[] ConfiguredUrls(IConfiguration configuration)
    {
        static string[] Split(string? list) => list?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        if (Split(configuration["urls"]) is { Length: > 0 } urls)
            return urls;
        string[] ports = [.. Split(configuration["http_ports"]).Select(p => $"http://*:{p}"), .. Split(configuration["https_ports"]).Select(p => $"https://*:{p}")];
        return ports.Length > 0 ? ports : ["http://localhost:5000"];
    }

    private static readonly string[] DroppedPerRequest =
        ["http.server.active_requests", "http.client.active_requests", "aspnetcore.routing.match_attempts", "http.client.request.time_in_queue"];

    private static bool IsProbeOrScrape(PathString path) =>
        path.StartsWithSegments("/metrics") || path.StartsWithSegments("/health");
}
