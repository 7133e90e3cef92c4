using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Tools;

/// <summary>
/// Junis as an ElevenLabs custom LLM: the webhook body as ElevenLabs sends it, the key as a Bearer secret,
/// the server URL ending in /v1 with /chat/completions appended, streamed answers, system tools.
/// </summary>
public sealed class ElevenLabsTests : IDisposable
{
    private const string Greeting = "Hello! Thanks for calling Acme. How can I help?";

    // The agent's model: it answers each caller line with a fixed line, and says goodbye when the caller is done.
    private static readonly Dictionary<string, string> Lines = new()
    {
        ["I'd like to check my order."] = "Sure, your order ships tomorrow.",
        ["Great, can it come earlier?"] = "I'm afraid tomorrow is the earliest.",
        ["OK, that's all."] = "Thank you for calling Acme. Goodbye!",
    };

    private readonly ScriptedModel _model = new((messages, _, ct) =>
        ScriptedModel.Words(Lines[messages.Last(m => m.Role == ChatRole.User).Text].Split(' ').Select((w, i) => i == 0 ? w : " " + w), TimeSpan.Zero, ct));

    private readonly JunisApp _app;

    public ElevenLabsTests() => _app = new JunisApp(services: _model.Install());

    /// <summary>ElevenLabs stores the key as a secret and sends it as a Bearer token.</summary>
    private HttpClient ElevenLabs()
    {
        var client = _app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", JunisApp.Key);
        return client;
    }

    private static readonly JsonObject EndCallTool = JsonNode.Parse("""
        {"type":"function","function":{"name":"end_call","description":"Ends the call when the conversation is over.",
         "parameters":{"type":"object","properties":{"reason":{"type":"string","description":"Why the call ends"},
                                                     "message":{"type":"string","description":"A farewell to say"}},
                       "required":["reason"]}}}
        """)!.AsObject();

    /// <summary>The body ElevenLabs posts: system prompt, the conversation so far, its settings and system tools.</summary>
    private static JsonObject WebhookBody(List<(string Role, string Content)> conversation, string? conversationId)
    {
        var messages = new JsonArray(new JsonObject { ["role"] = "system", ["content"] = "You are Acme's phone agent. Be brief." });
        foreach (var (role, content) in conversation)
            messages.Add(new JsonObject { ["role"] = role, ["content"] = content });
        var body = new JsonObject
        {
            ["messages"] = messages,
            ["model"] = "gpt-4o",
            ["temperature"] = 0.5,
            ["max_tokens"] = 5000,
            ["stream"] = true,
            ["tools"] = new JsonArray(EndCallTool.DeepClone()),
            ["user_id"] = "caller-+15551234567",
            ["elevenlabs_extra_body"] = conversationId is null
                ? new JsonObject { ["UUID"] = "123e4567-e89b-12d3-a456-426614174000", ["parameter-1"] = "value-1" }
                : new JsonObject { ["conversation_id"] = conversationId },
        };
        return body;
    }

    private sealed record Reply(Guid Session, string Text, JsonNode? ToolCall, string FinishReason);

    private async Task<Reply> SayAsync(List<(string Role, string Content)> conversation, string? conversationId, string path = "/api/external/v1/chat/completions")
    {
        using var response = await ElevenLabs().PostAsync(path, Api.Json(WebhookBody(conversation, conversationId).ToJsonString()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var events = await response.ReadEventsAsync();
        Assert.Equal("[DONE]", events[^1]);
        var choices = events.Chunks().Select(c => c["choices"]![0]!).ToList();
        return new Reply(
            Guid.Parse(response.Headers.GetValues("X-Session-Id").Single()),
            string.Concat(choices.Select(c => (string?)c["delta"]!["content"])),
            choices.Select(c => c["delta"]!["tool_calls"]?[0]).FirstOrDefault(c => c is not null),
            (string)choices[^1]["finish_reason"]!);
    }

    /// <summary>Plays the whole call as ElevenLabs would: each request carries the conversation so far.</summary>
    private async Task<List<Reply>> CallAsync(string? conversationId)
    {
        var conversation = new List<(string Role, string Content)> { ("assistant", Greeting) };
        var replies = new List<Reply>();
        foreach (var line in Lines.Keys)
        {
            conversation.Add(("user", line));
            var reply = await SayAsync(conversation, conversationId);
            replies.Add(reply);
            conversation.Add(("assistant", reply.Text));
        }
        return replies;
    }

    private static void AssertEndsWithValidEndCall(List<Reply> replies)
    {
        Assert.All(replies.SkipLast(1), r => Assert.Equal("stop", r.FinishReason));
        var last = replies[^1];
        Assert.Equal("tool_calls", last.FinishReason);
        Assert.Equal("Thank you for calling Acme. Goodbye!", last.Text);
        var call = last.ToolCall!;
        Assert.Equal(0, (int)call["index"]!);
        Assert.Equal("function", (string)call["type"]!);
        Assert.Equal("end_call", (string)call["function"]!["name"]!);
        var arguments = JsonNode.Parse((string)call["function"]!["arguments"]!)!.AsObject();
        var declared = EndCallTool["function"]!["parameters"]!["properties"]!.AsObject().Select(p => p.Key).ToHashSet();
        Assert.All(arguments, a => Assert.Contains(a.Key, declared));
        Assert.False(string.IsNullOrWhiteSpace((string?)arguments["reason"]));
        Assert.Equal("Thank you for calling Acme. Goodbye!", (string)arguments["message"]!);
    }

    [Fact]
    public async Task AThreeTurnCallFoundByConversationIdEndsInEndCallAndAnInactiveSession()
    {
        var replies = await CallAsync("conv_el_1");

        Assert.Single(replies.Select(r => r.Session).Distinct());
        AssertEndsWithValidEndCall(replies);
        var session = Assert.Single(await _app.SessionsAsync());
        Assert.Equal("conv_el_1", session.ConversationId);
        Assert.Equal("caller-+15551234567", session.UserId);
        Assert.NotNull(session.EndedAt);
        Assert.Equal(7, session.MessageCount); // the greeting, three caller lines, three replies
        using var status = await ElevenLabs().GetAsync($"/api/external/sessions/{session.Id}/status");
        Assert.False((bool)(await status.ReadJsonAsync())["is_active"]!);
    }

    [Fact]
    public async Task TheSameCallWithoutAConversationIdIsFollowedByItsTranscript()
    {
        var replies = await CallAsync(conversationId: null);

        Assert.Single(replies.Select(r => r.Session).Distinct());
        AssertEndsWithValidEndCall(replies);
        var session = Assert.Single(await _app.SessionsAsync());
        Assert.Null(session.ConversationId);
        Assert.NotNull(session.EndedAt);
        Assert.Equal(["assistant", "user", "assistant", "user", "assistant", "user", "assistant"], (await _app.MessagesAsync(session.Id)).Select(m => m.Role));
    }

    [Fact]
    public async Task ARetriedRequestIsNotStoredTwice()
    {
        var conversation = new List<(string, string)> { ("assistant", Greeting), ("user", "I'd like to check my order.") };
        var first = await SayAsync(conversation, "conv_retry");
        var again = await SayAsync(conversation, "conv_retry");
        var third = await SayAsync(conversation, "conv_retry");

        Assert.Equal(first.Session, again.Session);
        Assert.Equal(first.Session, third.Session);
        Assert.Equal(3, (await _app.MessagesAsync(first.Session)).Count);
    }

    [Fact]
    public async Task ATrailingSlashOnTheRouteIsTolerated()
    {
        var reply = await SayAsync([("assistant", Greeting), ("user", "I'd like to check my order.")], "conv_slash", "/api/external/v1/chat/completions/");

        Assert.Equal("Sure, your order ships tomorrow.", reply.Text);
    }

    public void Dispose() => _app.Dispose();
}

/// <summary>Buffer words: something to say while a slow model thinks, so the voice does not fall silent.</summary>
public sealed class BufferWordsTests
{
    private static ScriptedModel SlowModel() => new((_, _, ct) => Slowly(ct));

    private static async IAsyncEnumerable<ChatResponseUpdate> Slowly([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Delay(600, cancellationToken);
        await foreach (var update in ScriptedModel.Words(["Your order", " ships tomorrow."], TimeSpan.Zero, cancellationToken))
            yield return update;
    }

    private static async Task<(List<string> Content, Guid Session)> StreamAsync(JunisApp app)
    {
        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = Conversation(("user", "Where is my order?")), stream = true });
        var content = (await response.ReadEventsAsync()).Chunks()
            .Select(c => (string?)c["choices"]![0]!["delta"]!["content"]).OfType<string>().Where(t => t.Length > 0).ToList();
        return (content, Guid.Parse(response.Headers.GetValues("X-Session-Id").Single()));
    }

    [Fact]
    public async Task ASlowModelIsCoveredByTheBufferWordsFirst()
    {
        var model = SlowModel();
        using var app = new JunisApp(new() { ["Junis:Streaming:BufferWords"] = "Let me check... ", ["Junis:Streaming:BufferAfterMs"] = "100" }, model.Install());

        var (content, session) = await StreamAsync(app);

        Assert.Equal(["Let me check... ", "Your order", " ships tomorrow."], content);
        // Stored as said, so the next request's history still matches the session.
        Assert.Equal("Let me check... Your order ships tomorrow.", (await app.MessagesAsync(session))[1].Content);
    }

    [Fact]
    public async Task AModelFasterThanTheWaitNeedsNoBufferWords()
    {
        var model = ScriptedModel.Replying("At once.");
        using var app = new JunisApp(new() { ["Junis:Streaming:BufferWords"] = "Let me check... ", ["Junis:Streaming:BufferAfterMs"] = "2000" }, model.Install());

        var (content, _) = await StreamAsync(app);

        Assert.Equal(["At once."], content);
    }

    [Fact]
    public async Task WithTheOptionOffNothingExtraIsSent()
    {
        using var app = new JunisApp(services: SlowModel().Install());

        var (content, _) = await StreamAsync(app);

        Assert.Equal(["Your order", " ships tomorrow."], content);
    }

    [Fact]
    public async Task AWholeAnswerHasNoBufferWords()
    {
        using var app = new JunisApp(new() { ["Junis:Streaming:BufferWords"] = "Let me check... ", ["Junis:Streaming:BufferAfterMs"] = "100" }, SlowModel().Install());

        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = Conversation(("user", "Where is my order?")) });

        Assert.Equal("Your order ships tomorrow.", (string)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]!);
    }
}
