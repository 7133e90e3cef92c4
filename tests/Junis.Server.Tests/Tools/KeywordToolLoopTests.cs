using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using ChatFinishReason = OpenAI.Chat.ChatFinishReason;
using ChatMessage = OpenAI.Chat.ChatMessage;

namespace Junis.Server.Tests.Tools;

/// <summary>
/// A keyword tool in a client's tool loop: a reply that says goodbye ends in one end_call, and the loop that runs the
/// call and sends its result back is not answered with another, though the reply says goodbye again.
/// </summary>
public sealed class KeywordToolLoopTests : IAsyncLifetime
{
    private readonly FakeOpenAIServer _model = new();

    public Task InitializeAsync()
    {
        // A model that says goodbye whatever it is told, and never calls a tool itself.
        _model.Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["Goodbye,", " and thanks", " for calling."]);
        return Task.CompletedTask;
    }

    /// <summary>A client that runs the tools it is asked to call, with an end_call tool that counts its calls.</summary>
    private static (IChatClient Client, ChatOptions Options, List<string> Reasons) LoopWithEndCall(JunisApp app)
    {
        var reasons = new List<string>();
        var endCall = AIFunctionFactory.Create((string reason) =>
        {
            reasons.Add(reason);
            return "The call has ended.";
        }, "end_call", "Ends the call when the conversation is over");
        var client = new ChatClientBuilder(OfficialClient.Chat(app).AsIChatClient()).UseFunctionInvocation().Build();
        return (client, new ChatOptions { Tools = [endCall] }, reasons);
    }

    private static async Task<ChatResponse> RunAsync(IChatClient client, string text, ChatOptions options, bool streamed) => streamed
        ? await client.GetStreamingResponseAsync(text, options).ToChatResponseAsync()
        : await client.GetResponseAsync(text, options);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AModelThatKeepsSayingGoodbyeEndsTheCallOnceAndTheLoopEnds(bool streamed)
    {
        using var app = new JunisApp(_model.Settings());
        var (client, options, reasons) = LoopWithEndCall(app);

        var response = await RunAsync(client, "That is all, thank you.", options, streamed);

        Assert.Single(reasons);
        Assert.Equal(2, _model.Requests.Count);
        Assert.Equal("tool", FakeOpenAIServer.LastRole(_model.Requests[1].Body));
        Assert.Equal("Goodbye, and thanks for calling.", response.Messages[^1].Text);
        Assert.DoesNotContain(response.Messages[^1].Contents, c => c is FunctionCallContent);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task EchoRepeatingACallersGoodbyeEndsTheCallOnceAndTheLoopEnds(bool streamed)
    {
        using var app = new JunisApp();
        var (client, options, reasons) = LoopWithEndCall(app);

        var response = await RunAsync(client, "Okay, goodbye", options, streamed);

        Assert.Single(reasons);
        Assert.Equal("Echo: Okay, goodbye", response.Messages[^1].Text);
        Assert.DoesNotContain(response.Messages[^1].Contents, c => c is FunctionCallContent);
    }

    [Fact]
    public async Task AGoodbyeAfterTheCallWasEndedIsNotAnsweredWithAnotherEndCall()
    {
        // By hand with the SDK: the caller speaks again after end_call ran, and the reply says goodbye again; the
        // conversation's latest assistant message already called end_call.
        using var app = new JunisApp();
        var chat = OfficialClient.Chat(app);
        var options = new ChatCompletionOptions
        {
            Tools = { ChatTool.CreateFunctionTool("end_call", "Ends the call", BinaryData.FromString("""{"type":"object","properties":{"reason":{"type":"string"}}}""")) },
        };
        List<ChatMessage> messages = [new UserChatMessage("Goodbye")];

        ChatCompletion first = await chat.CompleteChatAsync(messages, options);
        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(first.ToolCalls.Single().Id, "The call has ended."));
        messages.Add(new UserChatMessage("Goodbye again"));
        ChatCompletion second = await chat.CompleteChatAsync(messages, options);

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        Assert.Equal("end_call", first.ToolCalls.Single().FunctionName);
        Assert.False(string.IsNullOrEmpty((string?)JsonNode.Parse(first.ToolCalls.Single().FunctionArguments)!["reason"]));
        Assert.Equal(ChatFinishReason.Stop, second.FinishReason);
        Assert.Empty(second.ToolCalls);
        Assert.Equal("Echo: Goodbye again", second.Content[0].Text);
    }

    public async Task DisposeAsync() => await _model.DisposeAsync();
}
