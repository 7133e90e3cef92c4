using System.ComponentModel.DataAnnotations;

namespace Junis.Server.Telemetry;

/// <summary>The Prometheus endpoint, <c>/metrics</c>.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Junis:Metrics";

    /// <summary>Whether the server keeps metrics: served at <c>/metrics</c>, and sent by OTLP when an endpoint is set.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>A port of its own for <c>/metrics</c>, kept off the API's; null serves it beside the API.</summary>
    [Range(1, 65535, ErrorMessage = "Junis:Metrics:Port must be a port number, 1 to 65535.")]
    public int? Port { get; set; }
}

/// <summary>Spans, exported by OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (or its traces variant) is set.</summary>
public sealed class TracingOptions
{
    public const string Section = "Junis:Tracing";

    /// <summary>Whether the server makes spans; by default when an OTLP endpoint is set to send them to.</summary>
    public bool? Enabled { get; set; }
}

/// <summary>What telemetry the server keeps, decided once from configuration at start-up.</summary>
/// <param name="Metrics">Whether metrics are kept.</param>
/// <param name="Traces">Whether spans are made.</param>
/// <param name="MetricsPort">The port of its own <c>/metrics</c> is served on, if any.</param>
/// <param name="OtlpMetrics">Whether an OTLP endpoint is set for metrics (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or its metrics variant).</param>
/// <param name="OtlpTraces">Whether an OTLP endpoint is set for spans (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or its traces variant).</param>
public sealed record TelemetrySwitches(bool Metrics, bool Traces, int? MetricsPort, bool OtlpMetrics, bool OtlpTraces)
{
    public bool Any => Metrics || Traces;

    public static TelemetrySwitches From(IConfiguration configuration)
    {
        var metrics = configuration.GetSection(MetricsOptions.Section).Get<MetricsOptions>() ?? new();
        var tracing = configuration.GetSection(TracingOptions.Section).Get<TracingOptions>() ?? new();
        var otlp = Set(configuration, "OTEL_EXPORTER_OTLP_ENDPOINT");
        var otlpTraces = otlp || Set(configuration, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
        var otlpMetrics = otlp || Set(configuration, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
        return new TelemetrySwitches(metrics.Enabled, tracing.Enabled ?? otlpTraces, metrics.Enabled ? metrics.Port : null, otlpMetrics, otlpTraces);
    }

    private static bool Set(IConfiguration configuration, string name) => !string.IsNullOrWhiteSpace(configuration[name]);
}
