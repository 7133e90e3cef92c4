using System.ClientModel;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using OpenAI.Chat;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// Images, audio and files in a user message, as the OpenAI .NET SDK writes them: they reach the model in order and
/// exactly as sent, Echo names them where they stand, and the session keeps the message.
/// </summary>
public sealed class ContentPartsThroughSdkTests : IAsyncLifetime
{
    private readonly FakeOpenAIServer _model = new();

    public Task InitializeAsync() => Task.CompletedTask;

    // The first bytes of a PNG, a WAV and a PDF: enough to be what they say they are.
    private static readonly BinaryData Png = BinaryData.FromBytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]);
    private static readonly BinaryData Wav = BinaryData.FromBytes("RIFF\0\0\0\0WAVE"u8.ToArray());
    private static readonly BinaryData Pdf = BinaryData.FromBytes("%PDF-1.7\n"u8.ToArray());

    // The SDK marks its audio and file parts as for evaluation only; they are how it sends audio and files.
#pragma warning disable OPENAI001
    private static UserChatMessage EveryKindOfPart() => new(
        ChatMessageContentPart.CreateTextPart("What is this?"),
        ChatMessageContentPart.CreateImagePart(new Uri("https://example.com/cat.png"), ChatImageDetailLevel.Low),
        ChatMessageContentPart.CreateImagePart(Png, "image/png"),
        ChatMessageContentPart.CreateInputAudioPart(Wav, ChatInputAudioFormat.Wav),
        ChatMessageContentPart.CreateFilePart(Pdf, "application/pdf", "report.pdf"),
        ChatMessageContentPart.CreateFilePart("file-abc123"));
#pragma warning restore OPENAI001

    [Fact]
    public async Task EveryPartReachesTheModelInOrderExactlyAsTheSdkSentIt()
    {
        using var app = new JunisApp(_model.Settings());
        var traffic = new SdkTraffic();

        ChatCompletion completion = await OfficialClient.Chat(app, traffic: traffic).CompleteChatAsync([EveryKindOfPart()]);

        var sent = Assert.Single(traffic.Sent)["messages"]![0]!["content"]!.AsArray();
        var received = Assert.Single(_model.Requests).Body["messages"]![0]!["content"]!.AsArray();
        Assert.Equal(["text", "image_url", "image_url", "input_audio", "file", "file"], received.Select(p => (string)p!["type"]!));
        Assert.StartsWith("data:image/png;base64,", (string)received[2]!["image_url"]!["url"]!);
        Assert.True(JsonNode.DeepEquals(sent, received), $"sent {sent.ToJsonString()}\nreceived {received.ToJsonString()}");
        Assert.Equal("Hello from the model", completion.Content[0].Text);
    }

    [Fact]
    public async Task EchoNamesEachPartWhereItStands()
    {
        using var app = new JunisApp();

        ChatCompletion completion = await OfficialClient.Chat(app).CompleteChatAsync([EveryKindOfPart()]);

        Assert.Equal("Echo: What is this? [image] [image] [audio] [file] [file]", completion.Content[0].Text);
    }

    [Fact]
    public async Task TheSessionKeepsAMessageWithPartsAndShowsItsTextAndParts()
    {
        using var app = new JunisApp();

        ClientResult<ChatCompletion> result = await OfficialClient.Chat(app).CompleteChatAsync([new UserChatMessage(
            ChatMessageContentPart.CreateImagePart(new Uri("https://example.com/cat.png"), ChatImageDetailLevel.Low),
            ChatMessageContentPart.CreateTextPart("What is this?"))]);
        Assert.True(result.GetRawResponse().Headers.TryGetValue("X-Session-Id", out var sessionId));
        using var response = await app.CreateAuthorizedClient().GetAsync($"/api/external/sessions/{sessionId}/messages");
        var messages = (await response.ReadJsonAsync())["messages"]!.AsArray();

        Assert.Equal(["user", "assistant"], messages.Select(m => (string)m!["role"]!));
        Assert.Equal("Echo: [image] What is this?", (string)messages[1]!["content"]!);
        // The text is the message's content; the parts come as the SDK sent them.
        Assert.Equal("What is this?", (string)messages[0]!["content"]!);
        Assert.Equal(["image_url", "text"], messages[0]!["content_parts"]!.AsArray().Select(p => (string)p!["type"]!));
        Assert.Equal("https://example.com/cat.png", (string)messages[0]!["content_parts"]![0]!["image_url"]!["url"]!);
    }

    [Fact]
    public async Task TheSessionKeepsThePartsAndSendsThemAgainWithItsHistory()
    {
        using var app = new JunisApp(_model.Settings());
        var traffic = new SdkTraffic();
        var chat = OfficialClient.Chat(app, extraBody: new JsonObject { ["session_id"] = "parts-kept" }, traffic: traffic);

        await chat.CompleteChatAsync([EveryKindOfPart()]);
        // The next turn names its session and sends only its newest message: the server puts the stored history before it.
        await chat.CompleteChatAsync([new UserChatMessage("And the second one?")]);

        var history = _model.Requests[1].Body["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "user"], history.Select(m => (string)m!["role"]!));
        Assert.True(JsonNode.DeepEquals(traffic.Sent[0]["messages"]![0]!["content"], history[0]!["content"]), history[0]!.ToJsonString());
    }

    public async Task DisposeAsync() => await _model.DisposeAsync();
}
