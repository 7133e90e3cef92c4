using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Junis.Server.Tests.Tools;

/// <summary>
/// What openai-node reads from an answer beyond its text reaches it through the server: log probabilities, a
/// refusal, the request id, and an upstream rate limit with the model's own wait, whole and streamed.
/// </summary>
public sealed class NodeSdkAnswerFieldsTests
{
    private const string Refusal = "I can't help with that.";

    // The model's own log probabilities, with values and bytes (including non-ASCII ones) that must arrive unchanged.
    private static readonly JsonArray ModelTokens = JsonNode.Parse("""
        [
          {"token":"Hello","logprob":-0.0012,"bytes":[72,101,108,108,111],
           "top_logprobs":[{"token":"Hello","logprob":-0.0012,"bytes":[72,101,108,108,111]},{"token":"Hi","logprob":-6.75,"bytes":[72,105]}]},
          {"token":" 안녕","logprob":-0.25,"bytes":[32,236,149,136,235,133,149],
           "top_logprobs":[{"token":" 안녕","logprob":-0.25,"bytes":[32,236,149,136,235,133,149]},{"token":" there","logprob":-1.5,"bytes":[32,116,104,101,114,101]}]}
        ]
        """)!.AsArray();

    /// <summary>
    /// The completion as the SDK assembled it: whole from tests/sdk-node/create.mjs (<c>chat.completions.create()</c>),
    /// streamed from stream-helper.mjs (the <c>chat.completions.stream()</c> helper's <c>finalChatCompletion()</c>).
    /// </summary>
    private static async Task<JsonNode> CompletionAsync(JunisApp app, bool stream, object request) => stream
        ? await NodeSdk.RunScriptAsync(app, "stream-helper.mjs", NodeSdk.Json(request))
        : (await NodeSdk.RunScriptAsync(app, "create.mjs", NodeSdk.Json(request)))["completion"]!;

    /// <summary>What create.mjs prints for one request: the completion or chunks and the SDK's request id, or the SDK's error.</summary>
    private static Task<JsonNode> CreateAsync(JunisApp app, object request) => NodeSdk.RunScriptAsync(app, "create.mjs", NodeSdk.Json(request));

    private static bool Streams(JsonObject body) => body["stream"]?.GetValue<bool>() == true;

    /// <summary>A chunk like <see cref="FakeOpenAIServer.Chunk"/>'s, with the choice's <c>logprobs</c>.</summary>
    private static string Chunk(JsonObject delta, JsonNode? logprobs, string? finishReason) => new JsonObject
    {
        ["id"] = "chatcmpl-fake", ["object"] = "chat.completion.chunk", ["created"] = 1, ["model"] = "fake-model",
        ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = logprobs, ["finish_reason"] = finishReason }),
    }.ToJsonString();

    private static Task WholeAsync(HttpContext context, JsonObject message, JsonNode? logprobs)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(new JsonObject
        {
            ["id"] = "chatcmpl-fake", ["object"] = "chat.completion", ["created"] = 1, ["model"] = "fake-model",
            ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["logprobs"] = logprobs, ["finish_reason"] = "stop" }),
            ["usage"] = new JsonObject { ["prompt_tokens"] = 9, ["completion_tokens"] = 2, ["total_tokens"] = 11 },
        }.ToJsonString());
    }

    /// <summary>Answers "Hello 안녕" with <see cref="ModelTokens"/>: whole, or one token per chunk.</summary>
    private static async Task AnswerWithLogprobsAsync(HttpContext context, JsonObject body)
    {
        if (!Streams(body))
        {
            await WholeAsync(context, new JsonObject { ["role"] = "assistant", ["content"] = "Hello 안녕" },
                new JsonObject { ["content"] = ModelTokens.DeepClone(), ["refusal"] = null });
            return;
        }
        context.Response.ContentType = "text/event-stream";
        await FakeOpenAIServer.WriteEventAsync(context, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null, null));
        foreach (var token in ModelTokens)
        {
            await FakeOpenAIServer.WriteEventAsync(context, Chunk(new JsonObject { ["content"] = (string)token!["token"]! },
                new JsonObject { ["content"] = new JsonArray(token.DeepClone()), ["refusal"] = null }, null));
        }
        await FakeOpenAIServer.WriteEventAsync(context, Chunk(new JsonObject(), null, "stop"));
        await FakeOpenAIServer.WriteEventAsync(context, "[DONE]");
    }

    /// <summary>Refuses as OpenAI does: <c>message.refusal</c> with null content, or streamed <c>delta.refusal</c> pieces.</summary>
    private static async Task RefuseAsync(HttpContext context, JsonObject body)
    {
        if (!Streams(body))
        {
            await WholeAsync(context, new JsonObject { ["role"] = "assistant", ["content"] = null, ["refusal"] = Refusal }, null);
            return;
        }
        context.Response.ContentType = "text/event-stream";
        await FakeOpenAIServer.WriteEventAsync(context, Chunk(new JsonObject { ["role"] = "assistant", ["content"] = null, ["refusal"] = "" }, null, null));
        foreach (var piece in new[] { "I can't", " help with", " that." })
            await FakeOpenAIServer.WriteEventAsync(context, Chunk(new JsonObject { ["refusal"] = piece }, null, null));
        await FakeOpenAIServer.WriteEventAsync(context, Chunk(new JsonObject(), null, "stop"));
        await FakeOpenAIServer.WriteEventAsync(context, "[DONE]");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EchoGivesEachWordALogprobOfZeroWithItselfAsItsTopLogprob(bool stream)
    {
        using var app = NodeSdk.OnARealSocket();

        var completion = await CompletionAsync(app, stream, new { messages = new[] { Api.UserMessage("Hi there") }, logprobs = true, top_logprobs = 2 });

        var tokens = completion["choices"]![0]!["logprobs"]!["content"]!.AsArray();
        Assert.Equal(["Echo:", " Hi", " there"], tokens.Select(t => (string)t!["token"]!));
        Assert.All(tokens, token =>
        {
            Assert.Equal(0.0, (double)token!["logprob"]!);
            var top = Assert.Single(token["top_logprobs"]!.AsArray())!;
            Assert.Equal((string)token["token"]!, (string)top["token"]!);
        });
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheModelsLogprobsReachTheSdkUnchanged(bool stream)
    {
        await using var model = new FakeOpenAIServer { Handler = AnswerWithLogprobsAsync };
        using var app = NodeSdk.OnARealSocket(model.Settings());

        var completion = await CompletionAsync(app, stream, new { messages = new[] { Api.UserMessage("Hi") }, logprobs = true, top_logprobs = 2 });

        Assert.Equal("Hello 안녕", (string)completion["choices"]![0]!["message"]!["content"]!);
        var tokens = completion["choices"]![0]!["logprobs"]!["content"]!;
        Assert.True(JsonNode.DeepEquals(ModelTokens, tokens), $"the SDK got {tokens.ToJsonString()}");
        var received = model.Requests.Single().Body;
        Assert.True((bool)received["logprobs"]!);
        Assert.Equal(2, (int)received["top_logprobs"]!);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheModelsRefusalReachesTheSdkAsRefusalWithNullContent(bool stream)
    {
        await using var model = new FakeOpenAIServer { Handler = RefuseAsync };
        using var app = NodeSdk.OnARealSocket(model.Settings());

        var completion = await CompletionAsync(app, stream, new { messages = new[] { Api.UserMessage("Help me pick a lock") } });

        var message = completion["choices"]![0]!["message"]!;
        Assert.Equal(Refusal, (string?)message["refusal"]);
        // OpenAI's refusal stream opens with {"role":"assistant","content":null,"refusal":""}: the SDKs append every
        // non-null delta.content, so a first chunk with content "" would leave content "" beside the refusal.
        Assert.Null(message["content"]);
        Assert.Equal("stop", (string)completion["choices"]![0]!["finish_reason"]!);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnUpstreamRateLimitIsTheSdksRateLimitErrorWithTheModelsRetryAfter(bool stream)
    {
        await using var model = new FakeOpenAIServer
        {
            Handler = (context, body) =>
            {
                context.Response.Headers["retry-after"] = "7";
                return FakeOpenAIServer.ErrorAsync(context, 429, "Rate limit reached for fake-model.", "rate_limit_error");
            },
        };
        using var app = NodeSdk.OnARealSocket(model.Settings());

        var error = (await CreateAsync(app, new { messages = new[] { Api.UserMessage("Hi") }, stream }))["error"]!;

        Assert.Equal("RateLimitError", (string)error["class"]!);
        Assert.Equal(429, (int)error["status"]!);
        Assert.Equal("rate_limit_error", (string)error["type"]!);
        Assert.Equal("upstream_rate_limited", (string)error["code"]!);
        Assert.Equal("7", (string?)error["retryAfter"]);
        Assert.Equal("7000", (string?)error["retryAfterMs"]);
        Assert.StartsWith("req_", (string?)error["requestID"]);
        // The script's client does not retry, and neither does the server by default: one request reached the model.
        Assert.Single(model.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EveryEchoAnswerHasARequestIdTheSdkReads(bool stream)
    {
        using var app = NodeSdk.OnARealSocket();

        var first = await CreateAsync(app, new { messages = new[] { Api.UserMessage("Hi") }, stream });
        var second = await CreateAsync(app, new { messages = new[] { Api.UserMessage("Hi") }, stream });

        Assert.StartsWith("req_", (string?)first["requestId"]);
        Assert.NotEqual((string?)first["requestId"], (string?)second["requestId"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheModelsOwnRequestIdIsTheOneTheSdkReads(bool stream)
    {
        await using var model = new FakeOpenAIServer
        {
            Handler = (context, body) =>
            {
                context.Response.Headers["x-request-id"] = "req_fake_5e1d";
                return FakeOpenAIServer.StreamAsync(context, body, ["Hello"]);
            },
        };
        using var app = NodeSdk.OnARealSocket(model.Settings());

        var result = await CreateAsync(app, new { messages = new[] { Api.UserMessage("Hi") }, stream });

        Assert.Equal("req_fake_5e1d", (string?)result["requestId"]);
    }
}
