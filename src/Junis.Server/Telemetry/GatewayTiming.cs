using System.Diagnostics;

namespace Junis.Server.Telemetry;

/// <summary>What called the model for a request, and how long the model took.</summary>
public interface IModelTimed
{
    /// <summary>From the model's first call to its answer's end; null when this request did not wait on a model call of its own.</summary>
    TimeSpan? ModelTime { get; }
}

/// <summary>
/// A request's time in the server less its model's: the figure gateways compete on. The request's whole duration is
/// taken around the rest of the pipeline; the surface that calls the model attaches it (<see cref="Attach"/>).
/// </summary>
public sealed class GatewayTiming
{
    private IModelTimed? _model;

    /// <summary>Records the overhead of requests that called a model, once each has been answered.</summary>
    public static IApplicationBuilder UseGatewayTiming(IApplicationBuilder app, ServerMetrics metrics) =>
        app.Use(async (context, next) =>
        {
            var start = Stopwatch.GetTimestamp();
            var timing = new GatewayTiming();
            context.Features.Set(timing);
            await next(context);
            if (timing._model?.ModelTime is { } model)
                metrics.GatewayOverhead.Record(Math.Max(0, (Stopwatch.GetElapsedTime(start) - model).TotalSeconds));
        });

    /// <summary>The model call this request waited on, if the server keeps timings.</summary>
    public static void Attach(HttpContext http, IModelTimed model)
    {
        if (http.Features.Get<GatewayTiming>() is { } timing)
            timing._model = model;
    }
}
