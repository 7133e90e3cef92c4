using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Junis.Server.Llm;
using Junis.Server.Telemetry;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Junis.Server.Tests.Telemetry;

/// <summary>
/// The server measures its model calls itself (<c>Llm/InstrumentedChatClient</c>) rather than through
/// Microsoft.Extensions.AI's <c>OpenTelemetryChatClient</c> (bench/ANALYSIS.md, "Telemetry"), and is held here to what
/// that client emits for the same calls, whole and streamed, over real HTTP: the same span name with at least its
/// attributes, the same metrics with at least their attributes. What it leaves out is named:
/// <c>gen_ai.client.operation.time_per_output_chunk</c>, a histogram record per chunk.
/// </summary>
public sealed class ModelCallTelemetryTests : IAsyncDisposable
{
    private static readonly string[] LeftOut = ["gen_ai.client.operation.time_per_output_chunk"];
    private readonly FakeOpenAIServer _model = new();
    private readonly JunisApp _app = new();

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        await _model.DisposeAsync();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheServerEmitsWhatMicrosoftExtensionsAIsClientEmits(bool streaming)
    {
        var metrics = _app.Services.GetRequiredService<ServerMetrics>();
        var library = $"Junis.Server.Tests.{Guid.NewGuid():N}";
        var ours = await MeasureAsync(new InstrumentedChatClient(Model(), metrics), ServerTelemetry.SourceName,
            instrument => instrument.Meter.Name == ServerMetrics.MeterName && instrument.Name.StartsWith("gen_ai.client.", StringComparison.Ordinal), streaming);
        using var theirs = new OpenTelemetryChatClient(Model(), sourceName: library);
        var expected = await MeasureAsync(theirs, library, instrument => instrument.Meter.Name == library, streaming);

        Assert.Equal(expected.Span.Name, ours.Span.Name);
        Assert.Equal(ActivityKind.Client, ours.Span.Kind);
        Assert.Empty(expected.Span.Tags.Except(ours.Span.Tags));
        Assert.NotEmpty(expected.Metrics);
        foreach (var (name, tags) in expected.Metrics.Where(m => !LeftOut.Contains(m.Key)))
        {
            Assert.True(ours.Metrics.TryGetValue(name, out var ourTags), $"{name} is not recorded");
            Assert.Empty(tags.Except(ourTags));
        }
    }

    private OpenAICompatibleChatClient Model() => new(new HttpClient(),
        new LlmOptions { Provider = LlmProvider.OpenAI, BaseUrl = _model.BaseUrl, Model = "fake-model" }, NullLogger.Instance);

    private sealed record Measured((string Name, ActivityKind Kind, IEnumerable<string> Tags) Span, Dictionary<string, HashSet<string>> Metrics);

    /// <summary>One call's span (its name, kind and attributes' names) and each metric's attributes' names.</summary>
    private static async Task<Measured> MeasureAsync(IChatClient client, string source, Func<Instrument, bool> mine, bool streaming)
    {
        var metrics = new ConcurrentDictionary<string, HashSet<string>>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, listener) =>
        {
            if (mine(instrument))
                listener.EnableMeasurementEvents(instrument);
        };
        void Record<T>(Instrument instrument, T _, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? __)
        {
            var names = metrics.GetOrAdd(instrument.Name, _ => []);
            lock (names)
                foreach (var tag in tags)
                    names.Add(tag.Key);
        }
        meters.SetMeasurementEventCallback<double>(Record);
        meters.SetMeasurementEventCallback<long>(Record);
        meters.SetMeasurementEventCallback<int>(Record);
        meters.Start();

        // Under a trace of the test's own, so other tests' calls are not taken for this one's.
        using var caller = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();
        caller.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        var spans = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == source,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.TraceId == caller.TraceId)
                    spans.Add(a);
            },
        };
        ActivitySource.AddActivityListener(listener);

        ChatMessage[] messages = [new(ChatRole.User, "Which river runs through Lyon?")];
        if (streaming)
        {
            await foreach (var _ in client.GetStreamingResponseAsync(messages))
            {
            }
        }
        else
        {
            await client.GetResponseAsync(messages);
        }

        var span = Assert.Single(spans, s => s.Kind == ActivityKind.Client && s.DisplayName.StartsWith("chat", StringComparison.Ordinal));
        return new Measured((span.DisplayName, span.Kind, span.TagObjects.Select(t => t.Key).ToList()), new(metrics));
    }
}
