using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// A stream's headers go out as soon as the model has begun its answer, not when its first word comes: voice clients
/// give up on a response whose headers are late. The role chunk follows with the first words, shaped by their kind as
/// OpenAI's is. Over real HTTP, against a model server that answers its headers and role chunk at once and then thinks
/// until the test lets it speak.
/// </summary>
public sealed class HeadersAtOnceTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);
    private readonly FakeOpenAIServer _model = new();
    private readonly TaskCompletionSource _speak = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private JunisApp _app = null!;

    /// <summary>The model's first delta: the empty content words begin with, unless a test opens a refusal instead.</summary>
    private JsonObject _opening = new() { ["role"] = "assistant", ["content"] = "" };

    private bool Refuses => _opening.ContainsKey("refusal");

    public Task InitializeAsync()
    {
        _model.Handler = ThinkingAsync;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _speak.TrySetResult();
        if (_app is not null)
            await _app.DisposeAsync();
        await _model.DisposeAsync();
    }

    private void Start(Dictionary<string, string?>? settings = null)
    {
        var all = _model.Settings();
        foreach (var (name, value) in settings ?? [])
            all[name] = value;
        _app = new JunisApp(all);
        _app.UseKestrel();
        _app.StartServer();
    }

    /// <summary>Headers and a role chunk at once (with the answer's fingerprint), then nothing until the test says so.</summary>
    private async Task ThinkingAsync(HttpContext context, JsonObject body)
    {
        context.Response.ContentType = "text/event-stream";
        await FakeOpenAIServer.WriteEventAsync(context, Fingerprinted((JsonObject)_opening.DeepClone(), null));
        // A warm-up question is answered at once; any other, once the test lets the model speak (or after 3 s).
        if (FakeOpenAIServer.LastUserText(body) != WarmUp)
            await _speak.Task.WaitAsync(TimeSpan.FromSeconds(3), context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        await FakeOpenAIServer.WriteEventAsync(context, Fingerprinted(
            Refuses ? new JsonObject { ["refusal"] = "I can't help with that." } : new JsonObject { ["content"] = "Thought it through." }, null));
        await FakeOpenAIServer.WriteEventAsync(context, Fingerprinted(new JsonObject(), "stop"));
        await FakeOpenAIServer.WriteEventAsync(context, "[DONE]");
    }

    private static string Fingerprinted(JsonObject delta, string? finishReason)
    {
        var chunk = JsonNode.Parse(FakeOpenAIServer.Chunk(delta, finishReason))!.AsObject();
        chunk["system_fingerprint"] = "fp_thinker";
        return chunk.ToJsonString();
    }

    private const string WarmUp = "Warm up.";

    private async Task<(HttpResponseMessage Response, IAsyncEnumerator<SseItem<string>> Events)> StartStreamAsync(string question = "Think hard.")
    {
        var client = _app.CreateAuthorizedClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/external/v1/chat/completions")
        {
            Content = Api.Json(new { messages = new[] { Api.UserMessage(question) }, stream = true }),
        };
        // Only the headers: the model has not said a word yet, and will not until the test has them.
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead).WaitAsync(Patience);
        var events = SseParser.Create(await response.Content.ReadAsStreamAsync()).EnumerateAsync().GetAsyncEnumerator();
        return (response, events);
    }

    [Fact]
    public async Task TheHeadersArriveWhileTheModelIsStillThinking()
    {
        Start();

        var (response, events) = await StartStreamAsync();
        using var _ = response;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        _speak.SetResult();
        var chunks = new List<JsonNode>();
        while (await events.MoveNextAsync() && events.Current.Data != "[DONE]")
            chunks.Add(JsonNode.Parse(events.Current.Data)!);

        Assert.Equal("assistant", (string?)chunks[0]["choices"]![0]!["delta"]!["role"]);
        Assert.Equal("", (string?)chunks[0]["choices"]![0]!["delta"]!["content"]);
        Assert.Equal("Thought it through.", (string?)chunks[1]["choices"]![0]!["delta"]!["content"]);
        Assert.All(chunks, chunk => Assert.Equal("fp_thinker", (string?)chunk["system_fingerprint"]));
        Assert.Equal("stop", (string?)chunks[^1]["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task BufferWordsStillCoverTheModelsSilenceAfterItHasBegun()
    {
        Start(new() { ["Junis:Streaming:BufferWords"] = "Let me think... ", ["Junis:Streaming:BufferAfterMs"] = "100" });

        var (response, events) = await StartStreamAsync();
        using var _ = response;
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Patience)); // the role chunk, with the buffer words
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Patience)); // said while the model thinks
        var buffer = JsonNode.Parse(events.Current.Data)!;
        _speak.SetResult();
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Patience));
        var words = JsonNode.Parse(events.Current.Data)!;

        Assert.Equal("Let me think... ", (string?)buffer["choices"]![0]!["delta"]!["content"]);
        Assert.Equal("Thought it through.", (string?)words["choices"]![0]!["delta"]!["content"]);
    }

    [Fact]
    public async Task TheHeadersAndTheRoleChunkArriveWithin50MsWhileTheModelThinksThreeSeconds()
    {
        Start();
        // The server's code warmed up first, as a running server's is.
        var (warm, warmEvents) = await StartStreamAsync(WarmUp);
        using (warm)
        {
            while (await warmEvents.MoveNextAsync() && warmEvents.Current.Data != "[DONE]")
            {
            }
        }

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (response, events) = await StartStreamAsync();
        using var _ = response;
        var headers = clock.Elapsed;
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Patience));
        var role = clock.Elapsed;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var delta = JsonNode.Parse(events.Current.Data)!["choices"]![0]!["delta"]!;
        Assert.Equal(("assistant", ""), ((string?)delta["role"], (string?)delta["content"]));
        Assert.True(role < TimeSpan.FromMilliseconds(50), $"headers after {headers.TotalMilliseconds} ms, the role chunk after {role.TotalMilliseconds} ms");
        _speak.SetResult();
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Patience));
        Assert.Equal("Thought it through.", (string?)JsonNode.Parse(events.Current.Data)!["choices"]![0]!["delta"]!["content"]);
    }

    [Fact]
    public async Task AModelThatOpensARefusalThenThinksGetsItsRoleChunkAtOnceWithoutContent()
    {
        // As OpenAI opens a refusal: a client adding up the deltas must end with null content beside the refusal.
        _opening = new JsonObject { ["role"] = "assistant", ["content"] = null, ["refusal"] = "" };
        Start();

        var (response, events) = await StartStreamAsync();
        using var _ = response;
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Patience)); // while the model thinks
        var role = JsonNode.Parse(events.Current.Data)!["choices"]![0]!["delta"]!.AsObject();
        _speak.SetResult();
        var deltas = new List<JsonObject>();
        while (await events.MoveNextAsync() && events.Current.Data != "[DONE]")
            deltas.Add(JsonNode.Parse(events.Current.Data)!["choices"]![0]!["delta"]!.AsObject());

        Assert.Equal("assistant", (string?)role["role"]);
        Assert.False(role.ContainsKey("content"), role.ToJsonString());
        Assert.Equal("I can't help with that.", string.Concat(deltas.Select(d => (string?)d["refusal"])));
        Assert.DoesNotContain(deltas, d => d["content"] is JsonValue);
    }
}
