using System.Text.Json;
using System.Text.Json.Nodes;
using Junis.Server.Tests.ChatCompletions;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;
using ChatMessage = OpenAI.Chat.ChatMessage;
using ChatResponseFormat = OpenAI.Chat.ChatResponseFormat;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// The OpenAI .NET SDK against the server in front of an OpenAI-compatible model (a fake one, over real HTTP): what the
/// SDK sends for structured outputs and tools reaches the model as the SDK wrote it, and the model's JSON and tool
/// calls come back to the SDK, through Microsoft.Extensions.AI too.
/// </summary>
public sealed class OfficialClientThroughProviderTests : IAsyncLifetime
{
    private const string ForecastJson = """{"city":"Seoul","summary":"Sunny","temperature_c":21}""";
    // Spaced and split oddly, so that only a byte-for-byte pass-through gives back the same text.
    private static readonly string[] ArgumentPieces = ["{ \"ci", "ty\" :  \"Se", "oul\" }"];

    private readonly FakeOpenAIServer _model = new();
    private readonly SdkTraffic _traffic = new();
    private JunisApp _app = null!;

    public Task InitializeAsync()
    {
        _app = new JunisApp(_model.Settings());
        return Task.CompletedTask;
    }

    private ChatClient Chat => OfficialClient.Chat(_app, traffic: _traffic);

    private static JsonNode? At(JsonNode node, string path) => path.Split('.').Aggregate((JsonNode?)node, (n, name) => n?[name]);

    private static void AssertSameJson(JsonNode? expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(expected, actual), $"expected {expected?.ToJsonString()}\n  actual {actual?.ToJsonString()}");

    private static async Task<string> AnswerTextAsync(ChatClient chat, IEnumerable<ChatMessage> messages, ChatCompletionOptions options, bool streamed) =>
        streamed
            ? (await chat.CompleteChatStreamingAsync(messages, options).CollectAsync()).Text
            : (await chat.CompleteChatAsync(messages, options)).Value.Content[0].Text;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AStrictJsonSchemaReachesTheModelAsTheSdkSentItAndItsAnswerDeserializes(bool streamed)
    {
        _model.Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, [ForecastJson[..12], ForecastJson[12..30], ForecastJson[30..]]);

        var text = await AnswerTextAsync(Chat, [new UserChatMessage("Weather in Seoul?")], new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("forecast", OfficialClientFeatureTests.ForecastSchema, jsonSchemaIsStrict: true),
        }, streamed);

        Assert.Equal(new OfficialClientFeatureTests.Forecast("Seoul", "Sunny", 21), JsonSerializer.Deserialize<OfficialClientFeatureTests.Forecast>(text, OfficialClientFeatureTests.SnakeCase));
        var received = Assert.Single(_model.Requests).Body;
        AssertSameJson(Assert.Single(_traffic.Sent)["response_format"], received["response_format"]);
        Assert.True((bool)At(received, "response_format.json_schema.strict")!);
    }

    [Fact]
    public async Task MicrosoftExtensionsAIGetsATypedObjectFromTheModelsJson()
    {
        // Microsoft.Extensions.AI names properties in camelCase in the schema it sends and in the JSON it reads.
        _model.Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["{\"city\":\"Seoul\",", "\"summary\":\"Sunny\",\"temperatureC\":21}"]);

        ChatResponse<OfficialClientFeatureTests.Forecast> response = await Chat.AsIChatClient().GetResponseAsync<OfficialClientFeatureTests.Forecast>("Weather in Seoul?");

        Assert.Equal(new OfficialClientFeatureTests.Forecast("Seoul", "Sunny", 21), response.Result);
        var received = Assert.Single(_model.Requests).Body;
        Assert.Equal("json_schema", (string?)At(received, "response_format.type"));
        AssertSameJson(Assert.Single(_traffic.Sent)["response_format"], received["response_format"]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AStrictFunctionToolLoopRunsThroughTheServerWithTheArgumentsAsWritten(bool streamed)
    {
        _model.Handler = FakeOpenAIServer.ToolThenText("get_weather", ArgumentPieces, ["It is sunny", " in Seoul."]);
        var chat = Chat;
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("get_weather", "Current weather in a city", OfficialClientFeatureTests.WeatherParameters, functionSchemaIsStrict: true) },
        };
        List<ChatMessage> messages = [new UserChatMessage("Weather in Seoul?")];

        if (streamed)
        {
            var first = await chat.CompleteChatStreamingAsync(messages, options).CollectAsync();
            Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
            messages.Add(new AssistantChatMessage(first.ToolCalls));
        }
        else
        {
            ChatCompletion first = await chat.CompleteChatAsync(messages, options);
            Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
            messages.Add(new AssistantChatMessage(first));
        }
        var call = ((AssistantChatMessage)messages[^1]).ToolCalls.Single();
        messages.Add(new ToolChatMessage(call.Id, "Sunny, 21 °C"));
        var answer = await AnswerTextAsync(chat, messages, options, streamed);

        Assert.Equal(("call_fake1", "get_weather", string.Concat(ArgumentPieces)), (call.Id, call.FunctionName, call.FunctionArguments.ToString()));
        Assert.Equal("It is sunny in Seoul.", answer);
        Assert.All(_model.Requests, r => Assert.True((bool)At(r.Body["tools"]![0]!, "function.strict")!));
        AssertSameJson(_traffic.Sent[0]["tools"], _model.Requests[0].Body["tools"]);
        var sent = _model.Requests[1].Body["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "tool"], sent.Select(m => (string)m!["role"]!));
        Assert.Equal(string.Concat(ArgumentPieces), (string)At(sent[1]!["tool_calls"]![0]!, "function.arguments")!);
        AssertSameJson(_traffic.Sent[1]["messages"]![1]!["tool_calls"], sent[1]!["tool_calls"]);
        AssertSameJson(_traffic.Sent[1]["messages"]![2], sent[2]);
    }

    [Fact]
    public async Task FunctionInvocationInMicrosoftExtensionsAICompletesAToolLoopThroughTheServer()
    {
        _model.Handler = FakeOpenAIServer.ToolThenText("get_weather", ArgumentPieces, ["It is sunny", " in Seoul."]);
        var cities = new List<string>();
        var weather = AIFunctionFactory.Create((string city) =>
        {
            cities.Add(city);
            return "Sunny, 21 °C";
        }, "get_weather", "Current weather in a city");
        IChatClient client = new ChatClientBuilder(Chat.AsIChatClient()).UseFunctionInvocation().Build();

        var response = await client.GetResponseAsync("Weather in Seoul?", new ChatOptions { Tools = [weather] });

        Assert.Equal(["Seoul"], cities);
        Assert.Equal("It is sunny in Seoul.", response.Text);
        Assert.Equal(2, _model.Requests.Count);
        // The function's result as Microsoft.Extensions.AI wrote it (a JSON string), as the SDK sent it.
        AssertSameJson(_traffic.Sent[1]["messages"]![2], _model.Requests[1].Body["messages"]![2]);
        Assert.Contains("Sunny, 21 °C", (string)_model.Requests[1].Body["messages"]![2]!["content"]!);
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _model.DisposeAsync();
    }
}
