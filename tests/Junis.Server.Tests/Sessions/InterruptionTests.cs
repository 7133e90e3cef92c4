using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// A voice client sends the assistant's words back cut where its caller interrupted them: the request continues the
/// session whose last reply they start, after the same transcript, and that reply records what was heard. Conversations
/// that only say the same things are never joined. The Echo model answers "Echo: " and the last user message.
/// </summary>
public abstract class InterruptionTests : IDisposable
{
    public sealed class OnSqlite() : InterruptionTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : InterruptionTests(Engine.PostgreSql);

    private readonly JunisApp _app;
    private readonly HttpClient _client;

    protected InterruptionTests(Engine engine)
    {
        _app = new JunisApp(engine: engine);
        _client = _app.CreateAuthorizedClient();
    }

    [Fact]
    public async Task AReplyCutShortContinuesItsSessionAndRecordsWhatTheCallerHeard()
    {
        var (session, reply) = await _client.TurnAsync(new { messages = Conversation(("user", "tell me everything")) });
        Assert.Equal("Echo: tell me everything", reply);
        // The caller spoke over the rest; the client re-spaced what it kept.
        const string heard = "Echo:  tell\nme ";

        var (next, nextReply) = await _client.TurnAsync(new { messages = Conversation(("user", "tell me everything"), ("assistant", heard), ("user", "stop, please")) });
        var (after, _) = await _client.TurnAsync(new
        {
            messages = Conversation(("user", "tell me everything"), ("assistant", heard), ("user", "stop, please"), ("assistant", nextReply), ("user", "thanks")),
        });

        Assert.Equal(session, next);
        Assert.Equal(session, after); // the client's version of the transcript, cut and all, is what continues from there
        Assert.Single(await _app.SessionsAsync());
        var messages = await MessagesAsync(session);
        Assert.Equal(["Echo: tell me everything", "Echo: stop, please", "Echo: thanks"],
            messages.Where(m => (string?)m!["role"] == "assistant").Select(m => (string?)m!["content"]));
        Assert.Equal(heard, (string?)messages[1]!["heard_content"]);
        Assert.All(messages.Where((_, i) => i != 1), m => Assert.False(m!.AsObject().ContainsKey("heard_content"), m.ToJsonString()));
    }

    [Fact]
    public async Task ConversationsSayingTheSameThingsWithDifferentRepliesStayApart()
    {
        var (first, reply) = await _client.TurnAsync(new { messages = Conversation(("user", "hello")) });

        // Another caller also said "hello" and then "yes", but was answered otherwise (by another client's greeting flow).
        var (second, _) = await _client.TurnAsync(new { messages = Conversation(("user", "hello"), ("assistant", "Hi, this is the front desk."), ("user", "yes")) });
        var (firstAgain, _) = await _client.TurnAsync(new { messages = Conversation(("user", "hello"), ("assistant", reply), ("user", "yes")) });

        Assert.NotEqual(first, second);
        Assert.Equal(first, firstAgain);
        Assert.Equal(2, (await _app.SessionsAsync()).Count);
        Assert.Equal(["user:hello", "assistant:Hi, this is the front desk.", "user:yes", "assistant:Echo: yes"], (await _app.MessagesAsync(second)).Transcript());
    }

    [Fact]
    public async Task AnAssistantMessageThatStartsNoStoredReplyStartsANewSession()
    {
        var (session, _) = await _client.TurnAsync(new { messages = Conversation(("user", "tell me everything")) });

        var (other, _) = await _client.TurnAsync(new { messages = Conversation(("user", "tell me everything"), ("assistant", "Echo: tell you"), ("user", "go on")) });

        Assert.NotEqual(session, other);
        Assert.Equal(4, (await _app.MessagesAsync(other)).Count); // the history it brought, and its reply
        Assert.All(await _app.MessagesAsync(session), m => Assert.Null(m.HeardContent));
    }

    [Fact]
    public async Task OfTwoSessionsWhoseLastReplyTheCutStartsTheNewestWins()
    {
        var (older, _) = await _client.TurnAsync(new { messages = Conversation(("user", "hi")) });
        var (newer, _) = await _client.TurnAsync(new { messages = Conversation(("user", "hi")) });

        var (chosen, _) = await _client.TurnAsync(new { messages = Conversation(("user", "hi"), ("assistant", "Ech"), ("user", "more")) });

        Assert.NotEqual(older, newer);
        Assert.Equal(newer, chosen);
        Assert.Equal("Ech", (await _app.MessagesAsync(newer))[1].HeardContent);
        Assert.All(await _app.MessagesAsync(older), m => Assert.Null(m.HeardContent));
    }

    [Fact]
    public async Task OnlyTheLastReplyCanBeCut()
    {
        var (session, one) = await _client.TurnAsync(new { messages = Conversation(("user", "one")) });
        var (same, _) = await _client.TurnAsync(new { messages = Conversation(("user", "one"), ("assistant", one), ("user", "two")) });
        Assert.Equal(session, same);

        // The first reply cut after the second turn: the caller cannot have interrupted words it heard whole before.
        var (other, _) = await _client.TurnAsync(new { messages = Conversation(("user", "one"), ("assistant", "Echo:"), ("user", "three")) });

        Assert.NotEqual(session, other);
        Assert.Equal(4, (await _app.MessagesAsync(session)).Count);
    }

    private async Task<JsonArray> MessagesAsync(Guid session)
    {
        using var response = await _client.GetAsync($"/api/external/sessions/{session}/messages");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.ReadJsonAsync())["messages"]!.AsArray();
    }

    public void Dispose() => _app.Dispose();
}
