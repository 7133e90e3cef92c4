using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// The Echo model as the orchestrator calls it: what it answers to content parts, response formats, required tool
/// calls and log probability requests, streamed and whole, and that a plain reply is what it always was.
/// </summary>
public sealed class EchoModelTests
{
    internal static readonly EchoChatClient Echo = new(new TokenCounter(), TimeSpan.Zero);

    internal static List<ChatMessage> Ask(string text) => [new(ChatRole.User, text)];

    /// <summary>Options carrying request fields as the server passes them on: by wire name, as the caller wrote them.</summary>
    internal static ChatOptions Fields(string json)
    {
        var options = new ChatOptions { AdditionalProperties = [] };
        foreach (var field in JsonElement.Parse(json).EnumerateObject())
            options.AdditionalProperties[field.Name] = field.Value;
        return options;
    }

    internal static async Task<List<ChatResponseUpdate>> StreamAsync(List<ChatMessage> messages, ChatOptions? options = null)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in Echo.GetStreamingResponseAsync(messages, options))
            updates.Add(update);
        return updates;
    }

    internal static List<string> Pieces(List<ChatResponseUpdate> updates) =>
        [.. updates.SelectMany(u => u.Contents.OfType<TextContent>()).Select(t => t.Text)];

    [Fact]
    public async Task APlainReplyIsUnchanged()
    {
        var updates = await StreamAsync(Ask("Tell me a story"), Fields("""{"seed":1,"response_format":{"type":"text"}}"""));

        Assert.Equal(["Echo:", " Tell", " me", " a", " story"], Pieces(updates));
        Assert.All(updates, u => Assert.Empty(u.Contents.OfType<LogprobsContent>()));
        Assert.Equal(ChatFinishReason.Stop, updates[^1].FinishReason);
        var whole = await Echo.GetResponseAsync(Ask("Tell me a story"));
        var content = Assert.Single(Assert.Single(whole.Messages).Contents);
        Assert.Equal("Echo: Tell me a story", Assert.IsType<TextContent>(content).Text);
        Assert.Equal(ChatFinishReason.Stop, whole.FinishReason);
    }

    [Fact]
    public async Task WithoutAUserMessageItSaysSo()
    {
        var whole = await Echo.GetResponseAsync([new(ChatRole.System, "Be brief.")]);

        Assert.Equal("Echo: (no user message)", whole.Text);
    }

    [Fact]
    public async Task MaxTokensAndStopSequencesStillCutTheReply()
    {
        var cut = await Echo.GetResponseAsync(Ask("one two three four"), new ChatOptions { MaxOutputTokens = 4 });
        var stopped = await Echo.GetResponseAsync(Ask("one two three four"), new ChatOptions { StopSequences = [" three"] });

        Assert.Equal(("Echo: one two", ChatFinishReason.Length), (cut.Text, cut.FinishReason));
        Assert.Equal(("Echo: one two", ChatFinishReason.Stop), (stopped.Text, stopped.FinishReason));
    }

    [Fact]
    public async Task CancellingStopsTheStreamBetweenWords()
    {
        var slow = new EchoChatClient(new TokenCounter(), TimeSpan.FromSeconds(30));
        using var cancel = new CancellationTokenSource();
        var pieces = new List<string>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in slow.GetStreamingResponseAsync(Ask("one two three"), cancellationToken: cancel.Token))
            {
                pieces.Add(update.Text);
                await cancel.CancelAsync();
            }
        });
        Assert.Equal(["Echo:"], pieces);
    }

    public static TheoryData<string, AIContent[]> ContentParts => new()
    {
        { "Echo: [image] What is this?", [Image(), new TextContent("What is this?")] },
        { "Echo: Compare [image] [image] please", [new TextContent("Compare"), Image(), Image(), new TextContent("please")] },
        { "Echo: Look: [image]", [new TextContent("Look: "), Image()] },
        { "Echo: [audio] Transcribe it", [Part(new DataContent("data:audio/wav;base64,UklGRg==")
            , """{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}"""), new TextContent(" Transcribe it")] },
        { "Echo: Summarize [file] [file]", [new TextContent("Summarize"),
            Part(new DataContent("data:application/pdf;base64,JVBERi0="), """{"type":"file","file":{"file_data":"data:application/pdf;base64,JVBERi0=","filename":"a.pdf"}}"""),
            Part(new HostedFileContent("file-abc"), """{"type":"file","file":{"file_id":"file-abc"}}""")] },
        { "Echo: [image] [audio]", [new DataContent("data:image/png;base64,iVBORw0KGgo="), new DataContent("data:audio/mp3;base64,SUQz")] },
    };

    private static AIContent Image() =>
        Part(new UriContent("https://example.com/cat.png", "image/png"), """{"type":"image_url","image_url":{"url":"https://example.com/cat.png"}}""");

    private static AIContent Part(AIContent content, string json)
    {
        content.RawRepresentation = JsonElement.Parse(json);
        return content;
    }

    [Theory]
    [MemberData(nameof(ContentParts))]
    public async Task NonTextPartsAreNamedInOrder(string expected, AIContent[] parts)
    {
        var whole = await Echo.GetResponseAsync([new(ChatRole.User, [.. parts])]);

        Assert.Equal(expected, whole.Text);
    }

    [Fact]
    public async Task AJsonObjectAnswerCarriesTheEcho()
    {
        var whole = await Echo.GetResponseAsync(Ask("hi \"you\""), Fields("""{"response_format":{"type":"json_object"}}"""));

        Assert.Equal("""{"echo":"Echo: hi \"you\""}""", whole.Text);
        Assert.Equal("Echo: hi \"you\"", (string)JsonNode.Parse(whole.Text)!["echo"]!);
    }

    [Fact]
    public async Task AJsonSchemaAnswerValidatesAgainstItsSchema()
    {
        var options = Fields("""{"response_format":{"type":"json_schema","json_schema":{"name":"weather","strict":true,"schema":SCHEMA}}}"""
            .Replace("SCHEMA", SchemaSampleTests.ZodSchema));

        var streamed = await StreamAsync([new(ChatRole.User, [Image(), new TextContent("Weather?")])], options);

        var json = string.Concat(Pieces(streamed));
        SchemaSampleTests.AssertValid(SchemaSampleTests.ZodSchema, json);
        Assert.Equal("Echo: [image] Weather?", (string)JsonNode.Parse(json)!["city"]!);
        Assert.True(Pieces(streamed).Count > 1, "streamed in pieces like any reply");
        Assert.Equal(ChatFinishReason.Stop, streamed[^1].FinishReason);
    }

    [Fact]
    public async Task AJsonAnswerIsCutByMaxTokensLikeAnyReply()
    {
        var options = Fields("""{"response_format":{"type":"json_object"}}""");
        options.MaxOutputTokens = 3;

        var whole = await Echo.GetResponseAsync(Ask("a long question"), options);

        Assert.Equal(ChatFinishReason.Length, whole.FinishReason);
        Assert.StartsWith("{\"", whole.Text);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(whole.Text));
    }
}
