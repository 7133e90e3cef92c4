using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Tools;

/// <summary>
/// The official Node SDK's stream helper accepts what the server streams: text, keyword tool calls, model tool
/// calls in pieces, and two choices. It rejects a missing role or finish_reason and malformed tool calls.
/// </summary>
public sealed class NodeSdkTests
{
    private static Task<JsonNode> StreamAsync(JunisApp app, object request) =>
        NodeSdk.RunScriptAsync(app, "stream-helper.mjs", NodeSdk.Json(request));

    private static JunisApp OnARealSocket(Dictionary<string, string?>? settings = null) => NodeSdk.OnARealSocket(settings);

    private static readonly object EndCall = new
    {
        type = "function",
        function = new { name = "end_call", parameters = new { type = "object", properties = new { reason = new { type = "string" }, message = new { type = "string" } }, required = new[] { "reason" } } },
    };

    [Fact]
    public async Task TheHelperAcceptsAStreamedAnswer()
    {
        using var app = OnARealSocket();

        var completion = await StreamAsync(app, new { messages = new[] { Api.UserMessage("Tell me a story") }, stream_options = new { include_usage = true } });

        Assert.Equal("Echo: Tell me a story", (string)completion["choices"]![0]!["message"]!["content"]!);
        Assert.Equal("stop", (string)completion["choices"]![0]!["finish_reason"]!);
        Assert.True((int)completion["usage"]!["total_tokens"]! > 0);
    }

    [Fact]
    public async Task TheHelperAcceptsAKeywordToolCall()
    {
        using var app = OnARealSocket();

        var completion = await StreamAsync(app, new { messages = new[] { Api.UserMessage("goodbye") }, tools = new[] { EndCall } });

        var choice = completion["choices"]![0]!;
        Assert.Equal("tool_calls", (string)choice["finish_reason"]!);
        var call = choice["message"]!["tool_calls"]![0]!;
        Assert.Equal("end_call", (string)call["function"]!["name"]!);
        Assert.Equal("Echo: goodbye", (string)JsonNode.Parse((string)call["function"]!["arguments"]!)!["message"]!);
    }

    [Fact]
    public async Task TheHelperAcceptsTwoChoices()
    {
        using var app = OnARealSocket();

        var completion = await StreamAsync(app, new { messages = new[] { Api.UserMessage("twice") }, n = 2 });

        Assert.Equal(["Echo: twice", "Echo: twice"], completion["choices"]!.AsArray().Select(c => (string)c!["message"]!["content"]!));
    }

    [Fact]
    public async Task TheHelperAcceptsAModelToolCallStreamedInPieces()
    {
        await using var model = new FakeOpenAIServer { Handler = (context, body) => FakeOpenAIServer.ToolCallAsync(context, body, "get_weather", ["{\"city\"", ":\"Seo", "ul\"}"]) };
        using var app = OnARealSocket(model.Settings());
        var weather = new { type = "function", function = new { name = "get_weather", parameters = new { type = "object", properties = new { city = new { type = "string" } } } } };

        var completion = await StreamAsync(app, new { messages = new[] { Api.UserMessage("Weather?") }, tools = new[] { weather } });

        var call = completion["choices"]![0]!["message"]!["tool_calls"]![0]!;
        Assert.Equal("call_fake1", (string)call["id"]!);
        Assert.Equal("get_weather", (string)call["function"]!["name"]!);
        Assert.Equal("{\"city\":\"Seoul\"}", (string)call["function"]!["arguments"]!);
    }
}
