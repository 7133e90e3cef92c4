using System.Text.Json;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Tools;

/// <summary>
/// openai-node's structured outputs work through the server: the response_format that <c>zodResponseFormat</c> makes
/// reaches the model as the SDK wrote it, and the answer comes back as JSON the SDK parses and checks against the zod
/// schema (<c>message.parsed</c>), whole with <c>chat.completions.parse()</c> and streamed with <c>chat.completions.stream()</c>.
/// </summary>
public sealed class NodeSdkStructuredOutputTests
{
    /// <summary>tests/sdk-node/parse.mjs: the schema is { city: string, forecast: string, celsius: number }, named weather_report.</summary>
    private static Task<JsonNode> ParseAsync(JunisApp app, string mode, string question) =>
        NodeSdk.RunScriptAsync(app, "parse.mjs", mode, question);

    private static JsonNode Parsed(JsonNode result) => result["completion"]!["choices"]![0]!["message"]!["parsed"]!;

    [Theory]
    [InlineData("whole")]
    [InlineData("stream")]
    public async Task TheParseHelpersReturnTheParsedObjectOnEcho(string mode)
    {
        using var app = NodeSdk.OnARealSocket();

        var result = await ParseAsync(app, mode, "Weather in Seoul?");

        // Echo answers the smallest object the schema accepts, every string its echo; zod has checked the rest.
        var parsed = Parsed(result);
        Assert.Equal("Echo: Weather in Seoul?", (string)parsed["city"]!);
        Assert.Equal("Echo: Weather in Seoul?", (string)parsed["forecast"]!);
        Assert.Equal(JsonValueKind.Number, parsed["celsius"]!.GetValueKind());
    }

    [Theory]
    [InlineData("whole")]
    [InlineData("stream")]
    public async Task TheParseHelpersReturnTheModelsObjectAndTheModelGetsTheSchemaAsTheSdkSentIt(string mode)
    {
        const string Answer = """{"city":"Seoul","forecast":"sunny","celsius":21.5}""";
        await using var model = new FakeOpenAIServer
        {
            Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["{\"city\":", "\"Seoul\",", "\"forecast\":\"sunny\",", "\"celsius\":21.5}"]),
        };
        using var app = NodeSdk.OnARealSocket(model.Settings());

        var result = await ParseAsync(app, mode, "Weather in Seoul?");

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(Answer), Parsed(result)), $"parsed: {Parsed(result).ToJsonString()}");
        var received = model.Requests.Single().Body["response_format"]!;
        Assert.Equal("json_schema", (string)received["type"]!);
        Assert.Equal("weather_report", (string)received["json_schema"]!["name"]!);
        Assert.True((bool)received["json_schema"]!["strict"]!);
        Assert.True(JsonNode.DeepEquals(result["sent"], received),
            $"the SDK sent {result["sent"]!.ToJsonString()}, the model received {received.ToJsonString()}");
    }
}
