using System.Diagnostics;
using System.Net;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using static Junis.Server.Tests.Agents.AgentScripts;

namespace Junis.Server.Tests.Telemetry;

/// <summary>
/// The spans of one streamed turn, caught by OpenTelemetry's in-memory exporter in a server on a real socket whose
/// model is a fake over real HTTP: the request, the turn, the model call by the GenAI conventions (and the HTTP call
/// beneath it, its trace context passed to the model), the commit; an agent's hand-off and a provider's fallback as
/// spans of their own. No span carries the caller's words, the model's, or a key. The request is made in a trace of the
/// caller's, so the spans of this test are told from those of the tests running beside it.
/// </summary>
public sealed class TracingTests : IAsyncLifetime
{
    private const string Question = "Which river runs through Lyon?";
    private readonly FakeOpenAIServer _model = new();
    private readonly FakeOpenAIServer _failing = new();
    private readonly Exported _spans = new();
    private JunisApp _app = null!;

    public Task InitializeAsync()
    {
        var settings = _model.Settings();
        settings["Junis:Tracing:Enabled"] = "true";
        // A provider that fails, falling back to the default one.
        settings["Junis:Providers:flaky:Provider"] = "OpenAI";
        settings["Junis:Providers:flaky:BaseUrl"] = _failing.BaseUrl;
        settings["Junis:Providers:flaky:Model"] = "flaky-model";
        settings["Junis:Providers:flaky:Fallbacks:0"] = "default";
        _app = new JunisApp(settings, services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.AddInMemoryExporter(_spans)));
        _app.UseKestrel();
        _app.StartServer();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _model.DisposeAsync();
        await _failing.DisposeAsync();
    }

    [Fact]
    public async Task AStreamedTurnIsTheRequestsTurnItsModelCallAndItsCommit()
    {
        var (session, trace) = await StreamAsync();

        var spans = await SpansOfAsync(trace, s => s.Any(a => a.DisplayName == "turn"));
        var request = Assert.Single(spans, s => s.DisplayName == RequestSpan);
        Assert.Equal(ActivityKind.Server, request.Kind);

        var turn = Assert.Single(spans, s => s.DisplayName == "turn");
        Assert.Equal(request.SpanId, turn.ParentSpanId);
        Assert.Equal(session, turn.GetTagItem("gen_ai.conversation.id")?.ToString());
        Assert.Equal(true, turn.GetTagItem("junis.turn.stream"));
        Assert.Equal("answered", turn.GetTagItem("junis.turn.outcome"));
        Assert.Equal(9L, turn.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(4L, turn.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(["stop"], (string[])turn.GetTagItem("gen_ai.response.finish_reasons")!);

        var chat = Assert.Single(spans, s => s.DisplayName == "chat fake-model");
        Assert.Equal(turn.SpanId, chat.ParentSpanId);
        Assert.Equal(ActivityKind.Client, chat.Kind);
        Assert.Equal("chat", chat.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("openai", chat.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("fake-model", chat.GetTagItem("gen_ai.request.model"));
        Assert.Equal("127.0.0.1", chat.GetTagItem("server.address"));
        Assert.Equal(9, chat.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(4, chat.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Contains("stop", Text(chat.GetTagItem("gen_ai.response.finish_reasons")));

        // The HTTP call to the model, under the model call, and the trace going on at the model.
        var http = Assert.Single(spans, s => s.Kind == ActivityKind.Client && s.ParentSpanId == chat.SpanId);
        Assert.Equal("POST", http.DisplayName);
        Assert.Contains(trace.ToHexString(), Assert.Single(_model.Requests).Headers["traceparent"]);

        var commit = Assert.Single(spans, s => s.DisplayName == "commit");
        Assert.Equal(turn.SpanId, commit.ParentSpanId);
        Assert.True(commit.StartTimeUtc >= chat.StartTimeUtc);

        AssertNothingSaid(spans);
    }

    [Fact]
    public async Task AnAgentsHandOffAndAProvidersFallbackAreSpansOfTheirOwn()
    {
        var support = LlmAgent("support", "billing");
        support.IsOrchestrator = true;
        var billing = LlmAgent("billing");
        billing.Provider = "flaky";
        await StoreAsync(_app, [support, billing]);
        _model.Handler = ByAgent(("support", Transfer("billing")), ("billing", Says("Your", " invoice", " is", " paid.")));
        _failing.Handler = (context, _) =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        };
        var (_, trace) = await StreamAsync();

        var spans = await SpansOfAsync(trace, s => s.Any(a => a.DisplayName == "turn"));
        var turn = Assert.Single(spans, s => s.DisplayName == "turn");
        var first = Assert.Single(spans, s => s.DisplayName == "invoke_agent support");
        var second = Assert.Single(spans, s => s.DisplayName == "invoke_agent billing");
        Assert.All([first, second], agent => Assert.Equal(turn.SpanId, agent.ParentSpanId));
        Assert.Equal("billing", first.GetTagItem("junis.agent.transferred_to"));
        Assert.Equal("billing", second.GetTagItem("gen_ai.agent.name"));
        Assert.Single(spans, s => s.DisplayName == "chat fake-model" && s.ParentSpanId == first.SpanId);

        // billing's provider fails; its fallback answers, within a span of its own.
        var failed = Assert.Single(spans, s => s.DisplayName == "chat flaky-model");
        Assert.Equal(second.SpanId, failed.ParentSpanId);
        Assert.Equal(ActivityStatusCode.Error, failed.Status);
        var fallback = Assert.Single(spans, s => s.DisplayName == "fallback default");
        Assert.Equal(second.SpanId, fallback.ParentSpanId);
        Assert.Equal("default", fallback.GetTagItem("junis.model.provider"));
        Assert.Single(spans, s => s.DisplayName == "chat fake-model" && s.ParentSpanId == fallback.SpanId);

        AssertNothingSaid(spans);
    }

    private const string RequestSpan = "POST /api/external/v1/chat/completions";

    /// <summary>One streamed turn, in a trace of the caller's own that the server's spans join; its session and that trace.</summary>
    private async Task<(string Session, ActivityTraceId Trace)> StreamAsync()
    {
        using var caller = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();
        caller.ActivityTraceFlags = ActivityTraceFlags.Recorded;
        using var client = _app.CreateAuthorizedClient();
        var (response, events, broken) = await client.StreamAsync(new { messages = new[] { Api.UserMessage(Question) }, stream = true });
        using (response)
        {
            Assert.Null(broken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("[DONE]", events[^1]);
            return (response.Headers.GetValues("X-Session-Id").Single(), caller.TraceId);
        }
    }

    /// <summary>The ended spans of <paramref name="trace"/>, once the request's own has ended and <paramref name="complete"/> holds.</summary>
    private async Task<List<Activity>> SpansOfAsync(ActivityTraceId trace, Func<List<Activity>, bool> complete)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var spans = _spans.Of(trace);
            if ((spans.Any(s => s.DisplayName == RequestSpan) && complete(spans)) || DateTime.UtcNow > deadline)
                return spans;
            await Task.Delay(20);
        }
    }

    private static void AssertNothingSaid(List<Activity> spans)
    {
        var told = spans.SelectMany(s => s.TagObjects.Select(t => $"{t.Key}={Text(t.Value)}")
            .Concat(s.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name}:{t.Key}={Text(t.Value)}")))).ToList();
        Assert.NotEmpty(told);
        foreach (var secret in new[] { "Lyon", "Hello", "invoice", JunisApp.Key[..12], "sk-upstream-secret" })
            Assert.DoesNotContain(told, t => t.Contains(secret, StringComparison.Ordinal));
    }

    /// <summary>The spans exported so far, added to by the exporter while a test reads them.</summary>
    private sealed class Exported : System.Collections.ObjectModel.Collection<Activity>
    {
        protected override void InsertItem(int index, Activity item)
        {
            lock (this)
                base.InsertItem(index, item);
        }

        public List<Activity> Of(ActivityTraceId trace)
        {
            lock (this)
                return [.. this.Where(s => s.TraceId == trace)];
        }
    }

    private static string Text(object? value) => value is System.Collections.IEnumerable list and not string
        ? string.Join(',', list.Cast<object?>())
        : value?.ToString() ?? "";
}
