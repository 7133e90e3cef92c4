using System.ClientModel;
using System.Text;
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
/// SDK sends reaches the model as the SDK wrote it, and what the model answers reaches the SDK in OpenAI's shapes.
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

    private static readonly JsonArray Tokens =
    [
        FakeOpenAIServer.Token("Hello", -0.0031, ("Hello", -0.0031), ("Hi", -5.8)),
        FakeOpenAIServer.Token(" café", -0.52, (" café", -0.52), (" cafe", -0.91)),
        FakeOpenAIServer.Token("!", -1.5e-7, ("!", -1.5e-7), (".", -16.1)),
    ];

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheModelsLogProbabilitiesReachTheSdkAsItWroteThem(bool streamed)
    {
        _model.Handler = (context, body) => FakeOpenAIServer.LogprobsAsync(context, body, Tokens);
        var options = new ChatCompletionOptions { IncludeLogProbabilities = true, TopLogProbabilityCount = 2 };

        var tokens = streamed
            ? (await Chat.CompleteChatStreamingAsync([new UserChatMessage("hi")], options).CollectAsync()).ContentTokenLogProbabilities
            : (await Chat.CompleteChatAsync([new UserChatMessage("hi")], options)).Value.ContentTokenLogProbabilities;

        Assert.Equal(Tokens.Count, tokens.Count);
        foreach (var (expected, actual) in Tokens.Zip(tokens))
        {
            Assert.Equal((string)expected!["token"]!, actual.Token);
            Assert.Equal((float)(double)expected["logprob"]!, actual.LogProbability);
            Assert.Equal(expected["bytes"]!.AsArray().Select(b => (byte)(int)b!), actual.Utf8Bytes!.Value.ToArray());
            Assert.Equal(expected["top_logprobs"]!.AsArray().Select(t => ((string)t!["token"]!, (float)(double)t["logprob"]!, Encoding.UTF8.GetBytes((string)t["token"]!))),
                actual.TopLogProbabilities.Select(t => (t.Token, t.LogProbability, t.Utf8Bytes!.Value.ToArray())));
        }
        var received = Assert.Single(_model.Requests).Body;
        Assert.True((bool)received["logprobs"]!);
        Assert.Equal(2, (int)received["top_logprobs"]!);
    }

    [Fact]
    public async Task ARefusalArrivesAsARefusalWholeAndStreamed()
    {
        string[] pieces = ["I'm sorry,", " I can't", " help with that."];
        _model.Handler = (context, body) => FakeOpenAIServer.RefusalAsync(context, body, pieces);

        ChatCompletion whole = await Chat.CompleteChatAsync([new UserChatMessage("Something forbidden")]);
        var streamedPieces = new List<string>();
        await foreach (var update in Chat.CompleteChatStreamingAsync([new UserChatMessage("Something forbidden")]))
        {
            if (!string.IsNullOrEmpty(update.RefusalUpdate))
                streamedPieces.Add(update.RefusalUpdate);
            Assert.All(update.ContentUpdate, part => Assert.Equal("", part.Text));
        }

        Assert.Equal(string.Concat(pieces), whole.Refusal);
        Assert.Empty(whole.Content);
        Assert.Equal(pieces, streamedPieces);
    }

    // The SDK marks its service tier as for evaluation only; it is what a caller reads the tier from.
#pragma warning disable OPENAI001
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheModelsUsageDetailsFingerprintAndServiceTierReachTheSdk(bool streamed)
    {
        var usage = JsonNode.Parse("""
            {"prompt_tokens":1200,"completion_tokens":300,"total_tokens":1500,
             "prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":256,"audio_tokens":0}}
            """)!.AsObject();
        var fields = new JsonObject { ["system_fingerprint"] = "fp_fake42", ["service_tier"] = "default" };
        _model.Handler = (context, body) => FakeOpenAIServer.PiecesAsync(context, body,
            [new FakePiece(new JsonObject { ["content"] = "Thought" }), new FakePiece(new JsonObject { ["content"] = " hard." })], fields: fields, usage: usage);

        ChatTokenUsage? tokens = null;
        string? fingerprint = null;
        ChatServiceTier? tier = null;
        if (streamed)
        {
            await foreach (var update in Chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
                tokens ??= update.Usage;
                fingerprint ??= update.SystemFingerprint;
                tier ??= update.ServiceTier;
            }
        }
        else
        {
            ChatCompletion completion = await Chat.CompleteChatAsync([new UserChatMessage("hi")]);
            (tokens, fingerprint, tier) = (completion.Usage, completion.SystemFingerprint, completion.ServiceTier);
        }

        Assert.Equal("fp_fake42", fingerprint);
        Assert.Equal((1200, 300, 1500), (tokens!.InputTokenCount, tokens.OutputTokenCount, tokens.TotalTokenCount));
        Assert.Equal(1024, tokens.InputTokenDetails.CachedTokenCount);
        Assert.Equal(256, tokens.OutputTokenDetails.ReasoningTokenCount);
        Assert.Equal(ChatServiceTier.Default, tier);
    }
#pragma warning restore OPENAI001

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheModelServersOwnRequestIdComesBack(bool streamed)
    {
        _model.Handler = FakeOpenAIServer.WithRequestId("req_upstream_5f1c", (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["Hi"]));

        if (streamed)
        {
            await Chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]).CollectAsync();
            Assert.Equal("req_upstream_5f1c", Assert.Single(_traffic.ResponseHeaders)["x-request-id"]);
        }
        else
        {
            ClientResult<ChatCompletion> result = await Chat.CompleteChatAsync([new UserChatMessage("hi")]);
            Assert.True(result.GetRawResponse().Headers.TryGetValue("x-request-id", out var id));
            Assert.Equal("req_upstream_5f1c", id);
        }
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _model.DisposeAsync();
    }
}
