using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// One request carrying every parameter of OpenAI's chat completions reference, checked field by field in the body an
/// OpenAI-compatible model receives: what the server does not act on arrives as the caller wrote it, what it acts on
/// arrives rewritten as documented, and what only it reads does not arrive.
/// </summary>
public sealed class PassThroughTests : IAsyncLifetime
{
    private readonly FakeOpenAIServer _model = new();
    private JunisApp _app = null!;

    public Task InitializeAsync()
    {
        _app = new JunisApp(_model.Settings());
        return Task.CompletedTask;
    }

    private static readonly JsonArray Messages = JsonNode.Parse("""
        [{"role":"system","content":"You are a weather assistant."},
         {"role":"developer","name":"ops","content":[{"type":"text","text":"Answer in one sentence."}]},
         {"role":"user","name":"kim","content":[{"type":"text","text":"What is in this picture, and what is the weather?"},
           {"type":"image_url","image_url":{"url":"https://example.com/sky.png","detail":"high"}},
           {"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}},
           {"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"forecast.pdf"}},
           {"type":"file","file":{"file_id":"file-abc123"}}]},
         {"role":"assistant","name":"helper","content":"Let me check.","refusal":"I can't tell where the picture was taken.",
          "audio":{"id":"audio_abc123"},
          "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{ \"city\" : \"Seoul\" }"}}]},
         {"role":"tool","tool_call_id":"call_1","content":"Sunny, 21 °C"}]
        """)!.AsArray();

    // Every documented parameter the server passes on without acting on it, with a value OpenAI accepts.
    private static readonly JsonObject Forwarded = JsonNode.Parse("""
        {"audio":{"voice":"alloy","format":"wav"},
         "frequency_penalty":0.5,
         "function_call":"auto",
         "functions":[{"name":"get_time","description":"The current time","parameters":{"type":"object","properties":{}}}],
         "logit_bias":{"50256":-100,"1734":5},
         "logprobs":true,
         "metadata":{"customer":"acme","purpose":"pass-through"},
         "modalities":["text","audio"],
         "parallel_tool_calls":false,
         "prediction":{"type":"content","content":"It is sunny in Seoul."},
         "presence_penalty":-0.25,
         "prompt_cache_key":"weather-v1",
         "prompt_cache_retention":"24h",
         "reasoning_effort":"low",
         "response_format":{"type":"json_schema","json_schema":{"name":"answer","description":"The answer",
           "schema":{"type":"object","properties":{"text":{"type":"string"}},"required":["text"],"additionalProperties":false},"strict":true}},
         "safety_identifier":"user-hash-123",
         "seed":42,
         "service_tier":"flex",
         "stop":["END","STOP"],
         "store":true,
         "temperature":0.7,
         "tool_choice":{"type":"function","function":{"name":"get_weather"}},
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather in a city",
           "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false},"strict":true}}],
         "top_logprobs":2,
         "top_p":0.9,
         "user":"end-user-7",
         "verbosity":"low",
         "web_search_options":{"search_context_size":"low","user_location":{"type":"approximate",
           "approximate":{"country":"KR","city":"Seoul","region":"Seoul","timezone":"Asia/Seoul"}}},
         "x_custom":{"nested":[1,"two",{"three":3.5}],"flag":null}}
        """)!.AsObject();

    // What the server acts on: the model, n, streaming, the output limit, and Junis's own fields.
    private static readonly JsonObject Rewritten = JsonNode.Parse("""
        {"model":"gpt-4o","n":1,"stream":true,"stream_options":{"include_usage":false},"max_completion_tokens":300,
         "elevenlabs_extra_body":{"conversation_id":"conv-every-parameter"},"session_id":"every-parameter","user_id":"caller-99"}
        """)!.AsObject();

    private static JsonObject EveryParameter()
    {
        var body = new JsonObject { ["messages"] = Messages.DeepClone() };
        foreach (var (name, value) in Forwarded.Concat(Rewritten))
            body[name] = value?.DeepClone();
        return body;
    }

    private async Task<JsonObject> ReceivedAsync(JsonObject request)
    {
        using var response = await _app.CreateAuthorizedClient().PostCompletionAsync(request.ToJsonString());
        var events = await response.ReadEventsAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        return Assert.Single(_model.Requests).Body;
    }

    private static void AssertSameJson(string what, JsonNode? expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(expected, actual), $"{what}: sent {expected?.ToJsonString()}\n  received {actual?.ToJsonString()}");

    [Fact]
    public async Task EveryParameterTheServerDoesNotActOnReachesTheModelAsSent()
    {
        var received = await ReceivedAsync(EveryParameter());

        foreach (var (name, value) in Forwarded)
            AssertSameJson(name, value, received[name]);
    }

    [Fact]
    public async Task EveryMessageReachesTheModelAsSent()
    {
        var received = (await ReceivedAsync(EveryParameter()))["messages"]!.AsArray();

        Assert.Equal(Messages.Count, received.Count);
        foreach (var (sent, arrived) in Messages.Zip(received))
            AssertSameJson((string)sent!["role"]!, sent, arrived);
    }

    [Fact]
    public async Task TheParametersTheServerActsOnArriveAsItSendsThem()
    {
        var received = await ReceivedAsync(EveryParameter());

        Assert.Equal("fake-model", (string)received["model"]!);
        Assert.Equal(300, (int)received["max_completion_tokens"]!);
        Assert.Null(received["max_tokens"]);
        Assert.True((bool)received["stream"]!);
        // The server reads the model's usage whatever the caller asked: the caller's include_usage is its own answer's.
        Assert.True((bool)received["stream_options"]!["include_usage"]!);
        // The server makes n model calls of one answer each.
        Assert.False(received.ContainsKey("n"));
        Assert.Equal("end-user-7", (string)received["user"]!);
        foreach (var name in new[] { "elevenlabs_extra_body", "session_id", "user_id" })
            Assert.False(received.ContainsKey(name), name);
    }

    [Fact]
    public async Task AUserIdWithoutAUserReachesTheModelAsItsUser()
    {
        var request = EveryParameter();
        request.Remove("user");

        var received = await ReceivedAsync(request);

        Assert.Equal("caller-99", (string)received["user"]!);
        Assert.False(received.ContainsKey("user_id"));
    }

    [Fact]
    public async Task StreamOptionsBesidesUsageReachTheModel()
    {
        // include_obfuscation (OpenAI's, default true) pads every chunk; a caller that turns it off saves the bytes.
        var request = EveryParameter();
        request["stream_options"] = new JsonObject { ["include_usage"] = true, ["include_obfuscation"] = false };

        var received = await ReceivedAsync(request);

        Assert.False((bool?)received["stream_options"]!["include_obfuscation"]);
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _model.DisposeAsync();
    }
}
