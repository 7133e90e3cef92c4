using System.Net;
using Junis.Server.Tests.Infrastructure;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Sessions;

/// <summary>How a request finds its conversation: conversation id, a lone message, the transcript hash (interruptions: <see cref="InterruptionTests"/>).</summary>
public abstract class SessionResolutionTests : IDisposable
{
    public sealed class OnSqlite() : SessionResolutionTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : SessionResolutionTests(Engine.PostgreSql);

    private readonly ScriptedModel _model = new((messages, _, ct) =>
        ScriptedModel.Words([$"Reply to {messages.Last(m => m.Role == ChatRole.User).Text}"], TimeSpan.Zero, ct));
    private readonly Engine _engine;
    private readonly JunisApp _app;
    private readonly HttpClient _client;

    protected SessionResolutionTests(Engine engine)
    {
        _engine = engine;
        _app = new JunisApp(services: _model.Install(), engine: engine);
        _client = _app.CreateAuthorizedClient();
    }

    [Fact]
    public async Task AConversationIdFindsItsSessionAndCreatesItWhenAbsent()
    {
        var (first, _) = await _client.TurnAsync(new { messages = Conversation(("user", "one")), elevenlabs_extra_body = new { conversation_id = "conv-1" } });
        var (second, _) = await _client.TurnAsync(new { messages = Conversation(("user", "two")), elevenlabs_extra_body = new { conversation_id = "conv-1" } });
        var (other, _) = await _client.TurnAsync(new { messages = Conversation(("user", "one")), elevenlabs_extra_body = new { conversation_id = "conv-2" } });

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
        var session = Assert.Single(await _app.SessionsAsync(), s => s.Id == first);
        Assert.Equal("conv-1", session.ConversationId);
        Assert.Equal(["user:one", "assistant:Reply to one", "user:two", "assistant:Reply to two"], (await _app.MessagesAsync(first)).Transcript());
    }

    [Fact]
    public async Task ASessionIdWorksLikeAConversationIdAndAlsoTakesTheSessionsOwnId()
    {
        var (named, _) = await _client.TurnAsync(new { messages = Conversation(("user", "one")), session_id = "my-session" });
        var (again, _) = await _client.TurnAsync(new { messages = Conversation(("user", "two")), session_id = "my-session" });
        var (byOwnId, _) = await _client.TurnAsync(new { messages = Conversation(("user", "three")), session_id = named.ToString() });

        Assert.Equal(named, again);
        Assert.Equal(named, byOwnId);
        Assert.Equal(6, (await _app.MessagesAsync(named)).Count);
    }

    [Fact]
    public async Task ANamedConversationIsFoundByItsNameOnlyNotByATranscriptSentWithoutIt()
    {
        var (named, reply) = await _client.TurnAsync(new { messages = Conversation(("user", "one")), session_id = "my-session" });

        // The same transcript without the name: a conversation of its own, holding the history it brought.
        var (unnamed, _) = await _client.TurnAsync(new { messages = Conversation(("user", "one"), ("assistant", reply), ("user", "two")) });
        // Nor by its user turns, as a voice client's cut-short transcript would be.
        var (cutShort, _) = await _client.TurnAsync(new { messages = Conversation(("user", "one"), ("assistant", reply[..5]), ("user", "two")) });

        Assert.NotEqual(named, unnamed);
        Assert.NotEqual(named, cutShort);
        Assert.Equal(["user:one", "assistant:Reply to one"], (await _app.MessagesAsync(named)).Transcript());
        Assert.Equal(["user:one", "assistant:Reply to one", "user:two", "assistant:Reply to two"], (await _app.MessagesAsync(unnamed)).Transcript());

        // While that unnamed conversation goes on by its transcript, and the named one by its name.
        var (continued, _) = await _client.TurnAsync(new
        {
            messages = Conversation(("user", "one"), ("assistant", reply), ("user", "two"), ("assistant", "Reply to two"), ("user", "three")),
        });
        var (byName, _) = await _client.TurnAsync(new { messages = Conversation(("user", "two")), session_id = "my-session" });
        Assert.Equal(unnamed, continued);
        Assert.Equal(named, byName);
        Assert.Equal(4, (await _app.MessagesAsync(named)).Count);
    }

    [Fact]
    public async Task TheFirstRequestsOfOneNewConversationRacingEndInOneSession()
    {
        for (var round = 0; round < 25; round++)
        {
            var id = $"race-{round}";
            var turns = await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
                _client.TurnAsync(new { messages = Conversation(("user", $"hello {i}")), elevenlabs_extra_body = new { conversation_id = id } })));

            var sessions = (await _app.SessionsAsync()).Where(s => s.ConversationId == id).ToList();
            var session = Assert.Single(sessions);
            Assert.Equal(12, session.MessageCount);
            Assert.Equal(Enumerable.Range(1, 12), (await _app.MessagesAsync(session.Id)).Select(m => m.Sequence));

            // Every caller was told the id of the session that holds its turn, and that id finds it.
            Assert.All(turns, turn => Assert.Equal(session.Id, turn.Session));
            using var detail = await _client.GetAsync($"/api/external/sessions/{session.Id}");
            Assert.Equal(HttpStatusCode.OK, detail.StatusCode);
        }
    }

    [Fact]
    public async Task TheUserIdOfALaterTurnIsKept()
    {
        var id = new { conversation_id = "who" };
        var (session, _) = await _client.TurnAsync(new { messages = Conversation(("user", "one")), elevenlabs_extra_body = id });
        await _client.TurnAsync(new { messages = Conversation(("user", "two")), elevenlabs_extra_body = id, user_id = "caller-42" });

        Assert.Equal("caller-42", Assert.Single(await _app.SessionsAsync()).UserId);
        Assert.NotEqual(Guid.Empty, session);
    }

    [Fact]
    public async Task ALoneMessageStartsANewSessionEveryTime()
    {
        var (first, _) = await _client.TurnAsync(new { messages = Conversation(("user", "hello")) });
        var (second, _) = await _client.TurnAsync(new { messages = new object[] { new { role = "system", content = "Be kind." }, new { role = "user", content = "hello" } } });

        Assert.NotEqual(first, second);
        Assert.Equal(2, (await _app.SessionsAsync()).Count);
    }

    [Fact]
    public async Task TheFullHistoryContinuesTheSessionItsTranscriptHashes()
    {
        var (session, reply) = await _client.TurnAsync(new { messages = Conversation(("user", "one")) });
        var (next, reply2) = await _client.TurnAsync(new { messages = Conversation(("user", "one"), ("assistant", reply), ("user", "two")) });
        var (third, _) = await _client.TurnAsync(new { messages = Conversation(("user", "one"), ("assistant", reply), ("user", "two"), ("assistant", reply2), ("user", "three")) });

        Assert.Equal(session, next);
        Assert.Equal(session, third);
        Assert.Equal(["user:one", "assistant:Reply to one", "user:two", "assistant:Reply to two", "user:three", "assistant:Reply to three"],
            (await _app.MessagesAsync(session)).Transcript());
    }

    [Fact]
    public async Task SystemMessagesDoNotChangeWhichSessionATranscriptBelongsTo()
    {
        var (session, reply) = await _client.TurnAsync(new { messages = new object[] { new { role = "system", content = "v1" }, new { role = "user", content = "one" } } });
        var (next, _) = await _client.TurnAsync(new
        {
            messages = new object[] { new { role = "system", content = "v2, longer" }, new { role = "user", content = "one" }, new { role = "assistant", content = reply }, new { role = "user", content = "two" } },
        });

        Assert.Equal(session, next);
    }

    [Fact]
    public async Task AnUnknownTranscriptStartsASessionHoldingTheIncomingHistory()
    {
        var (session, _) = await _client.TurnAsync(new { messages = Conversation(("user", "from elsewhere"), ("assistant", "an answer we never gave"), ("user", "and then")) });

        Assert.Equal(["user:from elsewhere", "assistant:an answer we never gave", "user:and then", "assistant:Reply to and then"],
            (await _app.MessagesAsync(session)).Transcript());
    }

    [Fact]
    public async Task AReplayOfAStoredTurnReplacesItsReplyInsteadOfStoringItTwice()
    {
        var (session, reply) = await _client.TurnAsync(new { messages = Conversation(("user", "one")) });
        var body = new { messages = Conversation(("user", "one"), ("assistant", reply), ("user", "two")) };

        var (first, _) = await _client.TurnAsync(body);
        var (again, _) = await _client.TurnAsync(body);
        var (thrice, _) = await _client.TurnAsync(body);

        Assert.Equal(session, first);
        Assert.Equal(session, again);
        Assert.Equal(session, thrice);
        Assert.Equal(["user:one", "assistant:Reply to one", "user:two", "assistant:Reply to two"], (await _app.MessagesAsync(session)).Transcript());
        var stored = Assert.Single(await _app.SessionsAsync());
        Assert.Equal(4, stored.MessageCount);
    }

    [Fact]
    public async Task AReplayByConversationIdWithTheFullHistoryIsStoredOnce()
    {
        var first = new { messages = Conversation(("user", "one")), elevenlabs_extra_body = new { conversation_id = "voice-7" } };
        var (session, reply) = await _client.TurnAsync(first);
        var second = new { messages = Conversation(("user", "one"), ("assistant", reply), ("user", "two")), elevenlabs_extra_body = new { conversation_id = "voice-7" } };
        await _client.TurnAsync(second);
        await _client.TurnAsync(second);

        Assert.Equal(["user:one", "assistant:Reply to one", "user:two", "assistant:Reply to two"], (await _app.MessagesAsync(session)).Transcript());
    }

    [Fact]
    public async Task ANamedSessionWithOnlyTheNewestMessageGetsItsStoredHistoryBeforeIt()
    {
        var id = new { conversation_id = "sdk-1" };
        await _client.TurnAsync(new { messages = Conversation(("user", "one")), elevenlabs_extra_body = id });
        await _client.TurnAsync(new { messages = new object[] { new { role = "system", content = "Be brief." }, new { role = "user", content = "two" } }, elevenlabs_extra_body = id });

        var seen = _model.Calls[^1].Messages.Select(m => $"{m.Role}:{m.Text}");
        Assert.Equal(["system:Be brief.", "user:one", "assistant:Reply to one", "user:two"], seen);
    }

    [Fact]
    public async Task ANamedSessionWithTheFullHistoryUsesItAsSentNeverDuplicated()
    {
        var id = new { conversation_id = "full-1" };
        var (_, reply) = await _client.TurnAsync(new { messages = Conversation(("user", "one")), elevenlabs_extra_body = id });
        await _client.TurnAsync(new { messages = Conversation(("user", "one"), ("assistant", reply), ("user", "two")), elevenlabs_extra_body = id });

        Assert.Equal(["user:one", "assistant:Reply to one", "user:two"], _model.Calls[^1].Messages.Select(m => $"{m.Role}:{m.Text}"));
    }

    [Fact]
    public async Task StoredHistoryIsLimitedToTheConfiguredNumberOfMessages()
    {
        using var app = new JunisApp(new() { ["Junis:Sessions:HistoryLimit"] = "2" }, _model.Install(), _engine);
        var client = app.CreateAuthorizedClient();
        var id = new { conversation_id = "short-memory" };
        foreach (var word in new[] { "one", "two", "three" })
            await client.TurnAsync(new { messages = Conversation(("user", word)), elevenlabs_extra_body = id });

        Assert.Equal(["user:two", "assistant:Reply to two", "user:three"], _model.Calls[^1].Messages.Select(m => $"{m.Role}:{m.Text}"));
    }

    [Fact]
    public async Task ThreeTurnsOfFullHistoryThroughTheOfficialClientAreOneSessionOfSixMessages()
    {
        var chat = OfficialClient.Chat(_app);
        List<OpenAI.Chat.ChatMessage> history = [];
        foreach (var question in new[] { "one", "two", "three" })
        {
            history.Add(new UserChatMessage(question));
            ChatCompletion reply = await chat.CompleteChatAsync(history);
            history.Add(new AssistantChatMessage(reply));
        }

        var session = Assert.Single(await _app.SessionsAsync());
        Assert.Equal(6, session.MessageCount);
        Assert.Equal(["user:one", "assistant:Reply to one", "user:two", "assistant:Reply to two", "user:three", "assistant:Reply to three"],
            (await _app.MessagesAsync(session.Id)).Transcript());
    }

    [Fact]
    public async Task ThreeTurnsByConversationIdWithOnlyTheNewestMessageThroughTheOfficialClientAreOneSessionOfSixMessages()
    {
        var chat = OfficialClient.Chat(_app, extraBody: ConversationId("dotnet-conversation"));
        foreach (var question in new[] { "one", "two", "three" })
            await chat.CompleteChatAsync([new UserChatMessage(question)]);

        var session = Assert.Single(await _app.SessionsAsync());
        Assert.Equal("dotnet-conversation", session.ConversationId);
        Assert.Equal(6, session.MessageCount);
        Assert.Equal(["user:one", "assistant:Reply to one", "user:two", "assistant:Reply to two", "user:three"], _model.Calls[^1].Messages.Select(m => $"{m.Role}:{m.Text}"));
    }

    public void Dispose() => _app.Dispose();
}
