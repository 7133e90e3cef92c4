using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Tools;

/// <summary>
/// openai-node's client-side tool loop, <c>chat.completions.runTools()</c>, runs to its end through the server, whole
/// and streamed: a strict function is called once with arguments that fit its schema, its result goes back to the
/// model with the call exactly as the model wrote it, and the model's final text ends the loop. A keyword end_call
/// comes once, not on every step of the loop.
/// </summary>
public sealed class NodeSdkToolRunnerTests
{
    // Spacing a re-serializer would drop: the call must travel back to the model as the model wrote it.
    private static readonly string[] WeatherArguments = ["{ \"city\"", " : \"Seo", "ul\" }"];

    private const string Farewell = "Goodbye, and thanks for calling.";

    /// <summary>tests/sdk-node/run-tools.mjs, with at most 6 requests: "weather" offers get_weather({ city }) made by zodFunction, "end_call" end_call({ reason, message }).</summary>
    private static Task<JsonNode> RunToolsAsync(JunisApp app, string toolSet, object request) =>
        NodeSdk.RunScriptAsync(app, "run-tools.mjs", toolSet, NodeSdk.Json(request));

    private static bool EndsWithToolResult(JsonObject body) => (string?)body["messages"]!.AsArray()[^1]!["role"] == "tool";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunToolsCompletesAStrictToolLoopOnEcho(bool stream)
    {
        using var app = NodeSdk.OnARealSocket();

        // Echo calls a tool only when one is required, and answers the tool's result once it has one.
        var run = await RunToolsAsync(app, "weather", new { messages = new[] { Api.UserMessage("Weather in Seoul?") }, tool_choice = "required", stream });

        var call = Assert.Single(run["calls"]!.AsArray())!;
        Assert.Equal("Echo: Weather in Seoul?", (string)call["arguments"]!["city"]!);
        Assert.Equal("Echo: " + (string)call["result"]!, (string)run["finalContent"]!);
        Assert.Equal(2, (int)run["requests"]!);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunToolsCompletesAStrictToolLoopThroughTheModel(bool stream)
    {
        // A tool call (streamed in pieces when the request streams, whole when not), then text once the result is in.
        await using var model = new FakeOpenAIServer
        {
            Handler = (context, body) => EndsWithToolResult(body)
                ? FakeOpenAIServer.StreamAsync(context, body, ["Sunny", " in", " Seoul."])
                : FakeOpenAIServer.ToolCallAsync(context, body, "get_weather", WeatherArguments),
        };
        using var app = NodeSdk.OnARealSocket(model.Settings());

        var run = await RunToolsAsync(app, "weather", new { messages = new[] { Api.UserMessage("Weather in Seoul?") }, stream });

        var call = Assert.Single(run["calls"]!.AsArray())!;
        Assert.Equal("Seoul", (string)call["arguments"]!["city"]!);
        Assert.Equal("Sunny in Seoul.", (string)run["finalContent"]!);
        Assert.Equal(2, model.Requests.Count);

        var first = model.Requests[0].Body;
        Assert.Equal(stream, first["stream"]?.GetValue<bool>() == true);
        var declared = first["tools"]![0]!["function"]!;
        Assert.Equal("get_weather", (string)declared["name"]!);
        Assert.True((bool)declared["strict"]!);
        Assert.False((bool)declared["parameters"]!["additionalProperties"]!);

        var messages = model.Requests[1].Body["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "tool"], messages.Select(m => (string)m!["role"]!));
        var sentBack = messages[1]!["tool_calls"]!.AsArray().Single()!;
        Assert.Equal("call_fake1", (string)sentBack["id"]!);
        Assert.Equal("get_weather", (string)sentBack["function"]!["name"]!);
        Assert.Equal(string.Concat(WeatherArguments), (string)sentBack["function"]!["arguments"]!);
        Assert.Equal("call_fake1", (string)messages[2]!["tool_call_id"]!);
        Assert.Equal((string)call["result"]!, (string)messages[2]!["content"]!);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunToolsGetsTheKeywordEndCallOnceOnEcho(bool stream)
    {
        using var app = NodeSdk.OnARealSocket();

        // Every step's reply says goodbye ("Echo: goodbye"), but only the first may end the call.
        var run = await RunToolsAsync(app, "end_call", new { messages = new[] { Api.UserMessage("goodbye") }, stream });

        var call = Assert.Single(run["calls"]!.AsArray())!;
        Assert.Equal("Echo: goodbye", (string)call["arguments"]!["message"]!);
        Assert.Equal("Echo: goodbye", (string)run["finalContent"]!);
        Assert.Equal(2, (int)run["requests"]!);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task RunToolsGetsTheKeywordEndCallOnceFromAModelThatKeepsSayingGoodbye(bool stream)
    {
        await using var model = new FakeOpenAIServer
        {
            Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["Goodbye,", " and", " thanks", " for", " calling."]),
        };
        using var app = NodeSdk.OnARealSocket(model.Settings());

        var run = await RunToolsAsync(app, "end_call", new { messages = new[] { Api.UserMessage("That's all, thanks.") }, stream });

        var call = Assert.Single(run["calls"]!.AsArray())!;
        Assert.Equal(Farewell, (string)call["arguments"]!["message"]!);
        Assert.Equal(Farewell, (string)run["finalContent"]!);
        Assert.Equal(2, (int)run["requests"]!);
        // The second step reached the model with the server's end_call and its result, and was answered as text.
        Assert.Equal(2, model.Requests.Count);
        var messages = model.Requests[1].Body["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "tool"], messages.Select(m => (string)m!["role"]!));
        Assert.Equal("end_call", (string)messages[1]!["tool_calls"]![0]!["function"]!["name"]!);
    }
}
