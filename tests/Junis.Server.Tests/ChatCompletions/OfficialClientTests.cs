using System.ClientModel;
using System.Text;
using Junis.Server.Tests.Infrastructure;
using OpenAI;
using OpenAI.Chat;

namespace Junis.Server.Tests.ChatCompletions;

/// <summary>The official OpenAI .NET client works against the server unchanged.</summary>
public sealed class OfficialClientTests : IDisposable
{
    private readonly JunisApp _app = new();

    [Fact]
    public async Task CompletesAPlainCall()
    {
        ChatCompletion completion = await OfficialClient.Chat(_app).CompleteChatAsync([new UserChatMessage("What is Junis?")]);

        Assert.Equal("Echo: What is Junis?", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal("junis-orchestrator", completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id);
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
    }

    [Fact]
    public async Task CompletesAStreamedCallWithUsage()
    {
        var text = new StringBuilder();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        await foreach (var update in OfficialClient.Chat(_app).CompleteChatStreamingAsync([new UserChatMessage("Tell me a story")]))
        {
            foreach (var part in update.ContentUpdate)
                text.Append(part.Text);
            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("Echo: Tell me a story", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        // The client always asks for include_usage when it streams.
        Assert.NotNull(usage);
        Assert.True(usage.OutputTokenCount > 0);
    }

    [Fact]
    public async Task ReportsLengthWhenMaxTokensCutsTheReply()
    {
        ChatCompletion completion = await OfficialClient.Chat(_app).CompleteChatAsync(
            [new UserChatMessage("one two three four five six")], new ChatCompletionOptions { MaxOutputTokenCount = 3 });

        Assert.Equal(ChatFinishReason.Length, completion.FinishReason);
    }

    [Fact]
    public async Task RaisesItsAuthenticationErrorOnABadKey()
    {
        var client = OfficialClient.Chat(_app, key: "jns_live_" + new string('x', 32));

        var plain = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hi")]));
        var streamed = await Assert.ThrowsAsync<ClientResultException>(async () =>
        {
            await foreach (var _ in client.CompleteChatStreamingAsync([new UserChatMessage("hi")])) { }
        });

        Assert.Equal(401, plain.Status);
        Assert.Equal(401, streamed.Status);
        Assert.Contains("invalid_api_key", plain.Message);
    }

    [Fact]
    public async Task ListsTheOrchestratorModel()
    {
        var models = await new OpenAIClient(new ApiKeyCredential(JunisApp.Key), OfficialClient.Options(_app)).GetOpenAIModelClient().GetModelsAsync();

        Assert.Equal("junis-orchestrator", Assert.Single(models.Value).Id);
    }

    public void Dispose() => _app.Dispose();
}
