using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// Organization B, with a valid key of its own, against organization A's (the bootstrap key's) sessions:
/// by every route and every way a request finds its session, A's conversations do not exist for B.
/// </summary>
public abstract class TenantIsolationTests : IDisposable
{
    public sealed class OnSqlite() : TenantIsolationTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : TenantIsolationTests(Engine.PostgreSql);

    private const string Sessions = "/api/external/sessions";

    private readonly JunisApp _app;
    private readonly HttpClient _a;

    protected TenantIsolationTests(Engine engine)
    {
        _app = new JunisApp(engine: engine);
        _a = _app.CreateAuthorizedClient();
    }

    public void Dispose() => _app.Dispose();

    private async Task<HttpClient> OrganizationBAsync() => _app.CreateAuthorizedClient(await _app.CreateKeyAsync("b"));

    /// <summary>A's session: two turns of conversation "call-a", four messages.</summary>
    private async Task<Guid> SessionOfAAsync()
    {
        var (first, _) = await _a.TurnAsync(new { messages = Conversation(("user", "my account number is 1234")), elevenlabs_extra_body = new { conversation_id = "call-a" } });
        var (second, _) = await _a.TurnAsync(new { messages = Conversation(("user", "and my pin is 0000")), elevenlabs_extra_body = new { conversation_id = "call-a" } });
        Assert.Equal(first, second);
        return first;
    }

    private static async Task<(HttpStatusCode Status, JsonNode Body)> GetAsync(HttpClient client, string path)
    {
        using var response = await client.GetAsync(path);
        return (response.StatusCode, await response.ReadJsonAsync());
    }

    private async Task AssertUntouchedAsync(Guid session, int messages)
    {
        var (status, detail) = await GetAsync(_a, $"{Sessions}/{session}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(messages, (int)detail["message_count"]!);
        Assert.Equal(messages, (await _app.MessagesAsync(session)).Count);
    }

    [Fact]
    public async Task TheListShowsNoneOfAnotherOrganizationsSessions()
    {
        var sessionOfA = await SessionOfAAsync();
        var b = await OrganizationBAsync();

        var (_, all) = await GetAsync(b, Sessions);
        var (_, byConversation) = await GetAsync(b, $"{Sessions}?conversation_id=call-a");
        var (_, active) = await GetAsync(b, $"{Sessions}?is_active=true");
        var (ownSession, _) = await b.TurnAsync(new { messages = Conversation(("user", "hello from b")) });
        var (_, afterOwnTurn) = await GetAsync(b, Sessions);
        var (_, seenByA) = await GetAsync(_a, Sessions);

        foreach (var list in new[] { all, byConversation, active })
        {
            Assert.Empty(list["sessions"]!.AsArray());
            Assert.Equal(0, (int)list["total"]!);
        }
        Assert.Equal([ownSession.ToString()], afterOwnTurn["sessions"]!.AsArray().Select(s => (string)s!["session_id"]!));
        Assert.Equal([sessionOfA.ToString()], seenByA["sessions"]!.AsArray().Select(s => (string)s!["session_id"]!));
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("GET", "/messages")]
    [InlineData("GET", "/status")]
    [InlineData("DELETE", "")]
    public async Task AnotherOrganizationsSessionIsNotFoundNeverForbidden(string method, string suffix)
    {
        var sessionOfA = await SessionOfAAsync();
        var b = await OrganizationBAsync();

        using var response = await b.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"{Sessions}/{sessionOfA}{suffix}"));
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("not_found_error", (string)error["type"]!);
        Assert.DoesNotContain("1234", error.ToJsonString());
        await AssertUntouchedAsync(sessionOfA, messages: 4);
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("GET", "/messages")]
    [InlineData("GET", "/status")]
    [InlineData("DELETE", "")]
    public async Task AnotherOrganizationsSessionIsNotFoundByItsNameEither(string method, string suffix)
    {
        var byConversationId = await SessionOfAAsync();
        var (bySessionId, _) = await _a.TurnAsync(NamedTurn("session_id", "call-a2", "my account number is 1234"));
        var b = await OrganizationBAsync();

        foreach (var name in new[] { "call-a", "call-a2" })
        {
            using var response = await b.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"{Sessions}/{name}{suffix}"));
            var error = (await response.ReadJsonAsync())["error"]!;

            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("not_found_error", (string)error["type"]!);
            Assert.DoesNotContain("1234", error.ToJsonString());
        }
        await AssertUntouchedAsync(byConversationId, messages: 4);
        await AssertUntouchedAsync(bySessionId, messages: 2);
    }

    [Fact]
    public async Task ANameFindsTheCallersOwnSessionWhenAnotherOrganizationUsesItToo()
    {
        var sessionOfA = await SessionOfAAsync();
        var b = await OrganizationBAsync();
        var (sessionOfB, _) = await b.TurnAsync(NamedTurn("conversation_id", "call-a", "hello from b"));

        var (_, seenByB) = await GetAsync(b, $"{Sessions}/call-a");
        var (_, seenByA) = await GetAsync(_a, $"{Sessions}/call-a");
        using var deletedByB = await b.DeleteAsync($"{Sessions}/call-a");

        Assert.NotEqual(sessionOfA, sessionOfB);
        Assert.Equal(sessionOfB.ToString(), (string)seenByB["session_id"]!);
        Assert.Equal(sessionOfA.ToString(), (string)seenByA["session_id"]!);
        Assert.Equal(HttpStatusCode.NoContent, deletedByB.StatusCode);
        await AssertUntouchedAsync(sessionOfA, messages: 4);
    }

    [Fact]
    public async Task AnotherOrganizationsConversationIdStartsASessionOfItsOwn()
    {
        var sessionOfA = await SessionOfAAsync();
        var b = await OrganizationBAsync();

        var (sessionOfB, _) = await b.TurnAsync(new { messages = Conversation(("user", "what is my pin?")), elevenlabs_extra_body = new { conversation_id = "call-a" } });
        var (again, _) = await b.TurnAsync(new { messages = Conversation(("user", "anything?")), elevenlabs_extra_body = new { conversation_id = "call-a" } });
        var (_, detailOfB) = await GetAsync(b, $"{Sessions}/{sessionOfB}");

        Assert.NotEqual(sessionOfA, sessionOfB);
        Assert.Equal(sessionOfB, again);
        Assert.Equal("call-a", (string)detailOfB["conversation_id"]!);
        Assert.Equal(
            ["user:what is my pin?", "assistant:Echo: what is my pin?", "user:anything?", "assistant:Echo: anything?"],
            (await _app.MessagesAsync(sessionOfB)).Transcript());
        await AssertUntouchedAsync(sessionOfA, messages: 4);
    }

    [Fact]
    public async Task AnotherOrganizationsSessionIdStartsASessionOfItsOwn()
    {
        var sessionOfA = await SessionOfAAsync();
        var b = await OrganizationBAsync();

        var (sessionOfB, _) = await b.TurnAsync(new { messages = Conversation(("user", "what is my pin?")), session_id = sessionOfA.ToString() });

        Assert.NotEqual(sessionOfA, sessionOfB);
        Assert.Equal(2, (await _app.MessagesAsync(sessionOfB)).Count);
        await AssertUntouchedAsync(sessionOfA, messages: 4);
    }

    /// <summary>
    /// A's conversation, as a client that sends the whole history would: "hello", then "more". Returns the
    /// session and A's transcript after the second turn (user, assistant, user, assistant).
    /// </summary>
    private async Task<(Guid Session, (string Role, string Content)[] Transcript)> TranscriptOfAAsync()
    {
        var (session, hello) = await _a.TurnAsync(new { messages = Conversation(("user", "hello")) });
        var (next, more) = await _a.TurnAsync(new { messages = Conversation(("user", "hello"), ("assistant", hello), ("user", "more")) });
        Assert.Equal(session, next);
        return (session, [("user", "hello"), ("assistant", hello), ("user", "more"), ("assistant", more)]);
    }

    [Fact]
    public async Task AnotherOrganizationSendingTheSameTranscriptStartsASessionOfItsOwn()
    {
        var (sessionOfA, transcript) = await TranscriptOfAAsync();
        var b = await OrganizationBAsync();
        var continuation = Conversation([.. transcript, ("user", "again")]);

        var (sessionOfB, _) = await b.TurnAsync(new { messages = continuation });
        var (control, _) = await _a.TurnAsync(new { messages = continuation });

        Assert.NotEqual(sessionOfA, sessionOfB);
        Assert.Equal(6, (await _app.MessagesAsync(sessionOfB)).Count);
        Assert.Equal(sessionOfA, control); // the same request from A does continue A's session
    }

    [Fact]
    public async Task AnotherOrganizationReplayingATurnStartsASessionOfItsOwn()
    {
        var (sessionOfA, transcript) = await TranscriptOfAAsync();
        var b = await OrganizationBAsync();
        var lastTurn = Conversation(transcript[..3]);

        var (sessionOfB, _) = await b.TurnAsync(new { messages = lastTurn });
        await AssertUntouchedAsync(sessionOfA, messages: 4);
        var (control, _) = await _a.TurnAsync(new { messages = lastTurn });

        Assert.NotEqual(sessionOfA, sessionOfB);
        Assert.Equal(4, (await _app.MessagesAsync(sessionOfB)).Count);
        Assert.Equal(sessionOfA, control); // from A the same request is a replay of A's last turn
        await AssertUntouchedAsync(sessionOfA, messages: 4);
    }

    [Fact]
    public async Task AnotherOrganizationInterruptingTheSameReplyStartsASessionOfItsOwn()
    {
        var (sessionOfA, transcript) = await TranscriptOfAAsync();
        var b = await OrganizationBAsync();
        // The last reply cut short, as a voice client sends it after the caller interrupted.
        var interrupted = Conversation(transcript[0], transcript[1], transcript[2], ("assistant", "Echo:"), ("user", "sorry, go on"));

        var (sessionOfB, _) = await b.TurnAsync(new { messages = interrupted });
        await AssertUntouchedAsync(sessionOfA, messages: 4);
        var (control, _) = await _a.TurnAsync(new { messages = interrupted });

        Assert.NotEqual(sessionOfA, sessionOfB);
        Assert.Equal(sessionOfA, control); // from A the interruption does find A's session
    }

    [Fact]
    public async Task AnotherOrganizationsKeyWorksNormallyForItsOwnConversations()
    {
        var sessionOfA = await SessionOfAAsync();
        var b = await OrganizationBAsync();

        using var models = await b.GetAsync("/api/external/v1/models");
        using var completion = await b.PostCompletionAsync(new { messages = Conversation(("user", "hi from b")) });
        var sessionOfB = Guid.Parse(completion.Headers.GetValues("X-Session-Id").Single());
        var answer = await completion.ReadJsonAsync();
        using var streamed = await b.PostCompletionAsync(new { messages = Conversation(("user", "streamed hi")), stream = true });
        var events = await streamed.ReadEventsAsync();
        var (ownStatus, ownDetail) = await GetAsync(b, $"{Sessions}/{sessionOfB}");
        var (ownMessagesStatus, _) = await GetAsync(b, $"{Sessions}/{sessionOfB}/messages");
        var (seenByA, _) = await GetAsync(_a, $"{Sessions}/{sessionOfB}");

        Assert.Equal(HttpStatusCode.OK, models.StatusCode);
        Assert.NotEmpty((await models.ReadJsonAsync())["data"]!.AsArray());
        Assert.Equal(HttpStatusCode.OK, completion.StatusCode);
        Assert.Equal("Echo: hi from b", (string)answer["choices"]![0]!["message"]!["content"]!);
        Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        Assert.NotEqual(sessionOfA, sessionOfB);
        Assert.Equal(HttpStatusCode.OK, ownStatus);
        Assert.Equal(2, (int)ownDetail["message_count"]!);
        Assert.Equal(HttpStatusCode.OK, ownMessagesStatus);
        Assert.Equal(HttpStatusCode.NotFound, seenByA);
        var organizations = await _app.QueryAsync(db => db.Sessions.Select(s => s.OrganizationId).Distinct().CountAsync());
        Assert.Equal(2, organizations);
    }
}
