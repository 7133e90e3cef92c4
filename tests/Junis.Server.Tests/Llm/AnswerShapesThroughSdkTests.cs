using System.ClientModel;
using System.Text;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using OpenAI.Chat;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// What an OpenAI-compatible model (a fake one, over real HTTP) answers besides text reaches the OpenAI .NET SDK in
/// OpenAI's shapes, whole and streamed: log probabilities, a refusal, usage details, the fingerprint and service tier,
/// and the model server's own request id.
/// </summary>
public sealed class AnswerShapesThroughSdkTests : IAsyncLifetime
{
    private readonly FakeOpenAIServer _model = new();
    private readonly SdkTraffic _traffic = new();
    private JunisApp _app = null!;

    public Task InitializeAsync()
    {
        _app = new JunisApp(_model.Settings());
        return Task.CompletedTask;
    }

    private ChatClient Chat => OfficialClient.Chat(_app, traffic: _traffic);

    // A non-ASCII token, whose bytes are not its characters, and a log probability written with an exponent.
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
