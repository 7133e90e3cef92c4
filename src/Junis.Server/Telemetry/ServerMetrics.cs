using System.Diagnostics.Metrics;
using Junis.Server.Hosting;

namespace Junis.Server.Telemetry;

/// <summary>
/// The server's instruments, beside ASP.NET Core's (<c>http.server.request.duration</c>): the model calls' by the GenAI
/// conventions (<c>gen_ai.client.*</c>), the turns' as callers receive them (<c>gen_ai.server.*</c>), and its own.
/// None is tagged with a key, an organization or any content: only with what an operator sizes a deployment by.
/// </summary>
public sealed class ServerMetrics
{
    public const string MeterName = "Junis.Server";

    // From 100 µs: the server's own time per request is well under a millisecond (bench/RESULTS.md).
    private static readonly double[] OverheadBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

    // The GenAI conventions' own boundaries for time to first token and time per output token.
    private static readonly double[] FirstTokenBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
    // The GenAI conventions' (and Microsoft.Extensions.AI's) boundaries for a model call's duration and its tokens.
    private static readonly double[] CallBuckets = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
    private static readonly long[] TokenBuckets = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
    private static readonly double[] PerTokenBuckets = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];

    public ServerMetrics(IMeterFactory meters, Draining draining)
    {
        var meter = meters.Create(MeterName);
        ModelCallDuration = meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s",
            "A model call's duration.", tags: null, advice: new() { HistogramBucketBoundaries = CallBuckets });
        ModelTokenUsage = meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}",
            "A model call's input and output tokens, as the model reported them.", tags: null, advice: new() { HistogramBucketBoundaries = TokenBuckets });
        ModelTimeToFirstChunk = meter.CreateHistogram<double>("gen_ai.client.operation.time_to_first_chunk", "s",
            "A streamed model call's time to its first chunk.", tags: null, advice: new() { HistogramBucketBoundaries = FirstTokenBuckets });
        GatewayOverhead = meter.CreateHistogram<double>("junis.gateway.overhead", "s",
            "A completion request's time in the server: its whole duration less the model's.", tags: null, advice: new() { HistogramBucketBoundaries = OverheadBuckets });
        // Read when scraped, from the streams the drain on shutdown already keeps: nothing more for each stream to do.
        meter.CreateObservableUpDownCounter("junis.streams.open", () => draining.OpenStreams, "{stream}", "Streamed completions being sent.");
        CommittedTurns = meter.CreateCounter<long>("junis.turns.committed", "{turn}", "Turns stored, by outcome: answered, interrupted or failed.");
        RateLimitRefusals = meter.CreateCounter<long>("junis.rate_limit.refusals", "{request}", "Requests refused by a key's rate limit, or for failing to authenticate too often.");
        FailedAuthentications = meter.CreateCounter<long>("junis.auth.failures", "{request}", "Requests whose key was missing, unknown, expired or revoked.");
        Fallbacks = meter.CreateCounter<long>("junis.model.fallbacks", "{call}", "Model calls sent down a chain to the next provider.");
        TimeToFirstToken = meter.CreateHistogram<double>("gen_ai.server.time_to_first_token", "s",
            "From a turn's start to its first content, as the caller receives it.", tags: null, advice: new() { HistogramBucketBoundaries = FirstTokenBuckets });
        TimePerOutputToken = meter.CreateHistogram<double>("gen_ai.server.time_per_output_token", "s",
            "A turn's time per output token after its first.", tags: null, advice: new() { HistogramBucketBoundaries = PerTokenBuckets });
    }

    public Histogram<double> ModelCallDuration { get; }
    public Histogram<long> ModelTokenUsage { get; }
    public Histogram<double> ModelTimeToFirstChunk { get; }
    public Histogram<double> GatewayOverhead { get; }
    public Counter<long> CommittedTurns { get; }
    public Counter<long> RateLimitRefusals { get; }
    public Counter<long> FailedAuthentications { get; }
    public Counter<long> Fallbacks { get; }
    public Histogram<double> TimeToFirstToken { get; }
    public Histogram<double> TimePerOutputToken { get; }
}
