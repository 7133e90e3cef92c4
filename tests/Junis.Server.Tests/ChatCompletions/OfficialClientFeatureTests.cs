using System.ClientModel;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;
using ChatMessage = OpenAI.Chat.ChatMessage;
using ChatResponseFormat = OpenAI.Chat.ChatResponseFormat;

namespace Junis.Server.Tests.ChatCompletions;

/// <summary>
/// What the OpenAI .NET SDK and Microsoft.Extensions.AI offer beyond plain text — structured outputs, strict tools, tool
/// loops, log probabilities, request ids — working against the server on its built-in Echo model.
/// </summary>
public sealed class OfficialClientFeatureTests : IDisposable
{
    private readonly JunisApp _app = new();

    public sealed record Forecast(string City, string Summary, int TemperatureC);

    // Strict structured outputs require every property listed and no others.
    public static readonly BinaryData ForecastSchema = BinaryData.FromString("""
        {"type":"object","properties":{"city":{"type":"string"},"summary":{"type":"string"},"temperature_c":{"type":"integer"}},
         "required":["city","summary","temperature_c"],"additionalProperties":false}
        """);

    public static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static readonly BinaryData WeatherParameters = BinaryData.FromString("""
        {"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}
        """);

    [Fact]
    public async Task AJsonSchemaAnswerDeserializesThroughTheDotNetSdkOnEcho()
    {
        ChatCompletion completion = await OfficialClient.Chat(_app).CompleteChatAsync([new UserChatMessage("Weather in Seoul?")], new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("forecast", ForecastSchema, jsonSchemaIsStrict: true),
        });

        var forecast = JsonSerializer.Deserialize<Forecast>(completion.Content[0].Text, SnakeCase)!;
        Assert.Equal("Echo: Weather in Seoul?", forecast.City);
        Assert.Equal("Echo: Weather in Seoul?", forecast.Summary);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
    }

    [Fact]
    public async Task MicrosoftExtensionsAIGetsATypedObjectFromEcho()
    {
        IChatClient client = OfficialClient.Chat(_app).AsIChatClient();

        ChatResponse<Forecast> response = await client.GetResponseAsync<Forecast>("Weather in Seoul?");

        Assert.True(response.TryGetResult(out var forecast), response.Text);
        Assert.StartsWith("Echo: ", forecast.City);
        Assert.StartsWith("Echo: ", forecast.Summary);
    }

    [Fact]
    public async Task AStrictFunctionToolLoopCompletesOnEcho()
    {
        var chat = OfficialClient.Chat(_app);
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("get_weather", "Current weather in a city", WeatherParameters, functionSchemaIsStrict: true) },
            ToolChoice = ChatToolChoice.CreateRequiredChoice(),
        };
        List<ChatMessage> messages = [new UserChatMessage("Weather in Seoul?")];

        ChatCompletion first = await chat.CompleteChatAsync(messages, options);
        var call = Assert.Single(first.ToolCalls);
        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, "Sunny, 21 °C"));
        ChatCompletion second = await chat.CompleteChatAsync(messages, options);

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        Assert.Equal("get_weather", call.FunctionName);
        // Arguments valid for the strict schema: its one required property, nothing else.
        Assert.Equal(["city"], JsonNode.Parse(call.FunctionArguments)!.AsObject().Select(p => p.Key));
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.Equal("Echo: Sunny, 21 °C", second.Content[0].Text);
    }

    [Fact]
    public async Task FunctionInvocationInMicrosoftExtensionsAICompletesAToolLoopOnEcho()
    {
        var cities = new List<string>();
        var weather = AIFunctionFactory.Create((string city) =>
        {
            cities.Add(city);
            return "Sunny, 21 °C";
        }, "get_weather", "Current weather in a city");
        IChatClient client = new ChatClientBuilder(OfficialClient.Chat(_app).AsIChatClient()).UseFunctionInvocation().Build();

        var response = await client.GetResponseAsync("Weather in Seoul?", new ChatOptions { Tools = [weather], ToolMode = ChatToolMode.RequireAny });

        Assert.Equal(["Echo: Weather in Seoul?"], cities);
        Assert.Contains(response.Messages.SelectMany(m => m.Contents), c => c is FunctionResultContent);
        Assert.StartsWith("Echo: ", response.Text);
        Assert.Equal(Microsoft.Extensions.AI.ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public async Task LogProbabilitiesComeOneAWordOnEchoWholeAndStreamed()
    {
        var chat = OfficialClient.Chat(_app);
        var options = new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 2 };

        ChatCompletion whole = await chat.CompleteChatAsync([new UserChatMessage("one two three")], options);
        var streamed = await chat.CompleteChatStreamingAsync([new UserChatMessage("one two three")], options).CollectAsync();

        foreach (var (text, tokens) in new[] { (whole.Content[0].Text, whole.ContentTokenLogProbabilities), (streamed.Text, streamed.ContentTokenLogProbabilities) })
        {
            Assert.Equal("Echo: one two three", text);
            Assert.Equal(["Echo:", " one", " two", " three"], tokens.Select(t => t.Token));
            Assert.All(tokens, t =>
            {
                Assert.Equal(0f, t.LogProbability);
                Assert.Equal(Encoding.UTF8.GetBytes(t.Token), t.Utf8Bytes!.Value.ToArray());
                // Echo knows no other word: each token is its own one alternative.
                Assert.Equal(t.Token, Assert.Single(t.TopLogProbabilities).Token);
            });
        }
    }

    [Fact]
    public async Task ImagesInAUserMessageAreEchoedWhereTheyStand()
    {
        ChatCompletion completion = await OfficialClient.Chat(_app).CompleteChatAsync([new UserChatMessage(
            ChatMessageContentPart.CreateImagePart(new Uri("https://example.com/cat.png"), ChatImageDetailLevel.Low),
            ChatMessageContentPart.CreateTextPart("What is this?"))]);

        Assert.Equal("Echo: [image] What is this?", completion.Content[0].Text);
    }

    [Fact]
    public async Task EveryAnswerNamesItsRequestInXRequestId()
    {
        var traffic = new SdkTraffic();
        var chat = OfficialClient.Chat(_app, traffic: traffic);

        ClientResult<ChatCompletion> whole = await chat.CompleteChatAsync([new UserChatMessage("hi")]);
        await chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]).CollectAsync();
        var refused = await Assert.ThrowsAsync<ClientResultException>(() =>
            OfficialClient.Chat(_app, key: "jns_live_" + new string('x', 32)).CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.True(whole.GetRawResponse().Headers.TryGetValue("x-request-id", out var wholeId));
        Assert.StartsWith("req_", wholeId);
        Assert.StartsWith("req_", traffic.ResponseHeaders[1]["x-request-id"]);
        Assert.NotEqual(wholeId, traffic.ResponseHeaders[1]["x-request-id"]);
        Assert.Equal(401, refused.Status);
        Assert.True(refused.GetRawResponse()!.Headers.TryGetValue("x-request-id", out var refusedId));
        Assert.StartsWith("req_", refusedId);
    }

    public void Dispose() => _app.Dispose();
}
