using System.ClientModel;
using System.Text;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using OpenAI.Chat;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// A model that fails, seen through the OpenAI .NET SDK: a stream that breaks after it began raises instead of ending
/// as if complete, and a model's rate limit reaches the caller with the model's own wait. Over a real socket, where a
/// connection the server breaks off reaches the SDK as it would in production.
/// </summary>
public sealed class UpstreamFailuresThroughSdkTests : IAsyncLifetime
{
    private readonly FakeOpenAIServer _model = new();
    private JunisApp _app = null!;

    public Task InitializeAsync()
    {
        _app = new JunisApp(_model.Settings(timeoutSeconds: 5));
        _app.UseKestrel();
        _app.StartServer();
        return Task.CompletedTask;
    }

    /// <summary>Reads a stream through the SDK until it ends or raises: the text that arrived, and what was raised.</summary>
    private async Task<(string Text, Exception? Raised)> StreamAsync(Action<string>? onText = null)
    {
        var text = new StringBuilder();
        try
        {
            await foreach (var update in OfficialClient.Chat(_app).CompleteChatStreamingAsync([new UserChatMessage("Tell me a story")]))
            {
                foreach (var part in update.ContentUpdate)
                    text.Append(part.Text);
                onText?.Invoke(text.ToString());
            }
            return (text.ToString(), null);
        }
        catch (Exception e)
        {
            return (text.ToString(), e);
        }
    }

    [Fact]
    public async Task AnErrorTheModelSendsMidStreamRaisesInTheSdk()
    {
        _model.Handler = (context, _) => FakeOpenAIServer.WordsThenErrorAsync(context, ["Once", " upon"], "The engine is overloaded.");

        var (text, raised) = await StreamAsync();

        // Without the break, the SDK would end the loop normally holding "Once upon" as if it were the whole answer:
        // the SDK skips an error event it cannot read as a chunk, so only the broken connection tells it.
        Assert.NotNull(raised);
        Assert.IsAssignableFrom<IOException>(raised);
        Assert.Equal("Once upon", text);
    }

    [Fact]
    public async Task AModelConnectionDroppedMidStreamRaisesInTheSdk()
    {
        // The model's connection is torn down once the SDK has the first two words.
        var passedOn = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _model.Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["Once", " upon", " a", " time"], cutAfter: 2, cutWhen: passedOn.Task);

        var (text, raised) = await StreamAsync(onText: text =>
        {
            if (text == "Once upon")
                passedOn.TrySetResult();
        });

        Assert.NotNull(raised);
        Assert.IsAssignableFrom<IOException>(raised);
        Assert.Equal("Once upon", text);
    }

    [Theory]
    [InlineData(false, "20", "20000", "20", "20000")]
    [InlineData(true, "20", "20000", "20", "20000")]
    [InlineData(false, "3", null, "3", "3000")]
    [InlineData(false, null, "1500", "2", "1500")]
    public async Task TheModelsRateLimitReachesTheCallerWithItsWait(bool streamed, string? retryAfter, string? retryAfterMs,
        string expectedRetryAfter, string expectedRetryAfterMs)
    {
        _model.Handler = (context, _) => FakeOpenAIServer.RateLimitedAsync(context, retryAfter, retryAfterMs);
        var chat = OfficialClient.Chat(_app);

        var raised = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            if (streamed)
                await chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]).CollectAsync();
            else
                await chat.CompleteChatAsync([new UserChatMessage("hi")]);
        });

        Assert.Equal(429, raised.Status);
        var response = raised.GetRawResponse()!;
        Assert.True(response.Headers.TryGetValue("retry-after", out var seconds));
        Assert.True(response.Headers.TryGetValue("retry-after-ms", out var milliseconds));
        Assert.Equal((expectedRetryAfter, expectedRetryAfterMs), (seconds, milliseconds));
        var error = JsonNode.Parse(response.Content.ToString())!["error"]!;
        Assert.Equal("rate_limit_error", (string)error["type"]!);
        Assert.Equal("upstream_rate_limited", (string)error["code"]!);
        Assert.Single(_model.Requests);
    }

    public async Task DisposeAsync()
    {
        _app.Dispose();
        await _model.DisposeAsync();
    }
}
