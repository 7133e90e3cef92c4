using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Junis.Server.Auth;
using Junis.Server.Sessions;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Sessions;

/// <summary>The Sessions API as a client sees it, over sessions that real chat completion requests made.</summary>
public abstract class SessionsApiTests(Engine engine) : IDisposable
{
    public sealed class OnSqlite() : SessionsApiTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : SessionsApiTests(Engine.PostgreSql);

    private const string Sessions = "/api/external/sessions";

    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.Zero));
    private JunisApp? _app;
    private HttpClient? _client;

    private JunisApp App => _app ?? Start();
    private HttpClient Client => _client ??= App.CreateAuthorizedClient();

    private JunisApp Start(Dictionary<string, string?>? settings = null, IChatClient? model = null)
    {
        _app = new JunisApp(settings, services =>
        {
            services.Replace(ServiceDescriptor.Singleton<TimeProvider>(_clock));
            if (model is not null)
                services.Replace(ServiceDescriptor.Singleton(model));
        }, engine);
        return _app;
    }

    public void Dispose() => _app?.Dispose();

    private Task<(Guid Session, string Reply)> SayAsync(string conversation, string text) =>
        Client.TurnAsync(new { messages = Conversation(("user", text)), elevenlabs_extra_body = new { conversation_id = conversation } });

    private async Task<(HttpStatusCode Status, JsonNode Body)> GetAsync(string path, HttpClient? client = null)
    {
        using var response = await (client ?? Client).GetAsync(path);
        return (response.StatusCode, await response.ReadJsonAsync());
    }

    private static string[] Keys(JsonNode? node) => [.. node!.AsObject().Select(p => p.Key)];

    private static Guid[] SessionIds(JsonNode list) => [.. list["sessions"]!.AsArray().Select(s => Guid.Parse((string)s!["session_id"]!))];

    private static void AssertError(HttpStatusCode expectedStatus, string type, (HttpStatusCode Status, JsonNode Body) actual)
    {
        Assert.Equal(expectedStatus, actual.Status);
        Assert.Equal(["message", "type", "param", "code"], Keys(actual.Body["error"]));
        Assert.Equal(type, (string)actual.Body["error"]!["type"]!);
        Assert.False(string.IsNullOrEmpty((string?)actual.Body["error"]!["message"]));
    }

    [Fact]
    public async Task TheListHasJunisShape()
    {
        var (session, _) = await Client.TurnAsync(new { messages = Conversation(("user", "hello")) });

        var (status, list) = await GetAsync(Sessions);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["sessions", "total", "page", "page_size", "has_next"], Keys(list));
        var only = Assert.Single(list["sessions"]!.AsArray())!;
        Assert.Equal(["session_id", "created_at", "last_update_time", "is_active", "message_count"], Keys(only));
        Assert.Equal(session.ToString(), (string)only["session_id"]!);
        Assert.Equal("2026-11-25T10:00:00Z", (string)only["created_at"]!);
        Assert.Equal("2026-11-25T10:00:00Z", (string)only["last_update_time"]!);
        Assert.True((bool)only["is_active"]!);
        Assert.Equal(2, (int)only["message_count"]!);
        Assert.Equal(1, (int)list["total"]!);
        Assert.Equal(1, (int)list["page"]!);
        Assert.Equal(20, (int)list["page_size"]!);
        Assert.False((bool)list["has_next"]!);
    }

    [Fact]
    public async Task TheMostRecentlyUpdatedSessionComesFirst()
    {
        var (first, _) = await SayAsync("first", "one");
        _clock.Advance(TimeSpan.FromMinutes(1));
        var (second, _) = await SayAsync("second", "two");
        _clock.Advance(TimeSpan.FromMinutes(1));
        var (third, _) = await SayAsync("third", "three");
        _clock.Advance(TimeSpan.FromMinutes(1));
        await SayAsync("first", "one again");

        var (_, list) = await GetAsync(Sessions);

        Assert.Equal([first, third, second], SessionIds(list));
        Assert.Equal("2026-11-25T10:03:00Z", (string)list["sessions"]![0]!["last_update_time"]!);
        Assert.Equal("2026-11-25T10:00:00Z", (string)list["sessions"]![0]!["created_at"]!);
    }

    [Fact]
    public async Task PagesCountFromOneAndSayWhetherMoreFollow()
    {
        var all = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            all.Insert(0, (await SayAsync($"call-{i}", "hi")).Session);
            _clock.Advance(TimeSpan.FromSeconds(1));
        }

        var pages = new List<JsonNode>();
        for (var page = 1; page <= 4; page++)
            pages.Add((await GetAsync($"{Sessions}?page={page}&page_size=2")).Body);

        Assert.Equal([2, 2, 1, 0], pages.Select(p => p["sessions"]!.AsArray().Count));
        Assert.Equal([true, true, false, false], pages.Select(p => (bool)p["has_next"]!));
        Assert.All(pages, p => Assert.Equal(5, (int)p["total"]!));
        Assert.All(pages, p => Assert.Equal(2, (int)p["page_size"]!));
        Assert.Equal([1, 2, 3, 4], pages.Select(p => (int)p["page"]!));
        Assert.Equal(all, pages.SelectMany(SessionIds));
    }

    [Fact]
    public async Task AHundredIsTheLargestPageAndAnExactlyFullPageHasNoNext()
    {
        await SayAsync("a", "hi");
        await SayAsync("b", "hi");

        var (status, largest) = await GetAsync($"{Sessions}?page_size=100");
        var (_, full) = await GetAsync($"{Sessions}?page_size=2");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(100, (int)largest["page_size"]!);
        Assert.Equal(2, largest["sessions"]!.AsArray().Count);
        Assert.Equal(2, full["sessions"]!.AsArray().Count);
        Assert.False((bool)full["has_next"]!);
    }

    [Theory]
    [InlineData("page", "0")]
    [InlineData("page", "-1")]
    [InlineData("page", "abc")]
    [InlineData("page", "1.5")]
    [InlineData("page_size", "0")]
    [InlineData("page_size", "-1")]
    [InlineData("page_size", "abc")]
    [InlineData("page_size", "101")]
    [InlineData("page_size", "1.5")]
    public async Task BadPagingIsA400NamingTheParameter(string parameter, string value)
    {
        var (session, _) = await SayAsync("call", "hi");

        foreach (var path in new[] { Sessions, $"{Sessions}/{session}/messages" })
        {
            var response = await GetAsync($"{path}?{parameter}={value}");

            AssertError(HttpStatusCode.BadRequest, "invalid_request_error", response);
            Assert.Equal(parameter, (string)response.Body["error"]!["param"]!);
        }
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("1")]
    [InlineData("active")]
    public async Task AnIsActiveFilterOtherThanTrueOrFalseIsA400(string value)
    {
        var response = await GetAsync($"{Sessions}?is_active={value}");

        AssertError(HttpStatusCode.BadRequest, "invalid_request_error", response);
        Assert.Equal("is_active", (string)response.Body["error"]!["param"]!);
    }

    [Fact]
    public async Task TheListFiltersByConversationId()
    {
        var (alpha, _) = await SayAsync("alpha", "hi");
        await SayAsync("beta", "hi");
        await Client.TurnAsync(new { messages = Conversation(("user", "no conversation id")) });

        var (_, filtered) = await GetAsync($"{Sessions}?conversation_id=alpha");
        var (_, unknown) = await GetAsync($"{Sessions}?conversation_id=gamma");

        Assert.Equal([alpha], SessionIds(filtered));
        Assert.Equal(1, (int)filtered["total"]!);
        Assert.Empty(SessionIds(unknown));
        Assert.Equal(0, (int)unknown["total"]!);
    }

    [Fact]
    public async Task ASessionGoesInactiveAfterTheIdleMinutesWithoutATurn()
    {
        Start(new() { ["Junis:Sessions:IdleMinutes"] = "5" });
        var (quiet, _) = await SayAsync("quiet", "hi");
        _clock.Advance(TimeSpan.FromMinutes(6));
        var (busy, _) = await SayAsync("busy", "hi");

        var (_, quietDetail) = await GetAsync($"{Sessions}/{quiet}");
        var (_, quietStatus) = await GetAsync($"{Sessions}/{quiet}/status");
        var (_, busyDetail) = await GetAsync($"{Sessions}/{busy}");
        var (_, all) = await GetAsync(Sessions);
        var (_, active) = await GetAsync($"{Sessions}?is_active=true");
        var (_, inactive) = await GetAsync($"{Sessions}?is_active=false");

        Assert.False((bool)quietDetail["is_active"]!);
        Assert.False((bool)quietStatus["is_active"]!);
        Assert.True((bool)busyDetail["is_active"]!);
        Assert.Equal([true, false], all["sessions"]!.AsArray().Select(s => (bool)s!["is_active"]!));
        Assert.Equal([busy], SessionIds(active));
        Assert.Equal(1, (int)active["total"]!);
        Assert.Equal([quiet], SessionIds(inactive));
        Assert.Equal(1, (int)inactive["total"]!);
    }

    [Fact]
    public async Task ANewTurnMakesAnIdleSessionActiveAgain()
    {
        Start(new() { ["Junis:Sessions:IdleMinutes"] = "5" });
        var (session, _) = await SayAsync("call", "hi");
        _clock.Advance(TimeSpan.FromMinutes(6));
        var (_, before) = await GetAsync($"{Sessions}/{session}");
        await SayAsync("call", "still there?");
        var (_, after) = await GetAsync($"{Sessions}/{session}");

        Assert.False((bool)before["is_active"]!);
        Assert.True((bool)after["is_active"]!);
    }

    [Fact]
    public async Task ATurnEndingInEndCallMakesTheSessionInactiveAtOnce()
    {
        var (session, _) = await Client.TurnAsync(new
        {
            messages = Conversation(("user", "goodbye")),
            tools = new[] { new { type = "function", function = new { name = "end_call" } } },
        });

        var (_, detail) = await GetAsync($"{Sessions}/{session}");
        var (_, inactive) = await GetAsync($"{Sessions}?is_active=false");
        var (_, messages) = await GetAsync($"{Sessions}/{session}/messages");
        var reply = messages["messages"]![1]!;

        Assert.False((bool)detail["is_active"]!);
        Assert.Equal([session], SessionIds(inactive));
        Assert.Equal("tool_calls", (string)reply["finish_reason"]!);
        Assert.Equal("end_call", (string)reply["tool_calls"]![0]!["function"]!["name"]!);
        Assert.Equal("function", (string)reply["tool_calls"]![0]!["type"]!);
    }

    [Fact]
    public async Task OneSessionInFullNamesItsConversationAndUserAndAddsUpItsTokens()
    {
        var client = Client;
        var usages = new List<JsonNode>();
        Guid session = default;
        foreach (var text in new[] { "hello there", "tell me more about the weather today" })
        {
            using var response = await client.PostCompletionAsync(new
            {
                messages = Conversation(("user", text)),
                elevenlabs_extra_body = new { conversation_id = "call-7" },
                user_id = "caller-42",
            });
            session = Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());
            usages.Add((await response.ReadJsonAsync())["usage"]!);
            _clock.Advance(TimeSpan.FromMinutes(1));
        }

        var (status, detail) = await GetAsync($"{Sessions}/{session}");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(
            ["session_id", "created_at", "last_update_time", "is_active", "message_count", "conversation_id", "user_id", "prompt_tokens", "completion_tokens", "total_tokens"],
            Keys(detail));
        Assert.Equal(session.ToString(), (string)detail["session_id"]!);
        Assert.Equal("2026-11-25T10:00:00Z", (string)detail["created_at"]!);
        Assert.Equal("2026-11-25T10:01:00Z", (string)detail["last_update_time"]!);
        Assert.True((bool)detail["is_active"]!);
        Assert.Equal(4, (int)detail["message_count"]!);
        Assert.Equal("call-7", (string)detail["conversation_id"]!);
        Assert.Equal("caller-42", (string)detail["user_id"]!);
        var prompt = usages.Sum(u => (int)u["prompt_tokens"]!);
        var completion = usages.Sum(u => (int)u["completion_tokens"]!);
        Assert.True(prompt > 0 && completion > 0);
        Assert.Equal(prompt, (long)detail["prompt_tokens"]!);
        Assert.Equal(completion, (long)detail["completion_tokens"]!);
        Assert.Equal(prompt + completion, (long)detail["total_tokens"]!);
    }

    [Fact]
    public async Task TheUserIdMayComeFromOpenAIsUserField()
    {
        var (session, _) = await Client.TurnAsync(new { messages = Conversation(("user", "hi")), user = "end-user-9" });

        var (_, detail) = await GetAsync($"{Sessions}/{session}");

        Assert.Equal("end-user-9", (string)detail["user_id"]!);
        Assert.Null(detail["conversation_id"]);
        Assert.True(detail.AsObject().ContainsKey("conversation_id"));
    }

    [Fact]
    public async Task TimesAreIso8601InUtcEndingInZ()
    {
        // The real clock, whose times have fractions of a second.
        using var app = new JunisApp(engine: engine);
        var client = app.CreateAuthorizedClient();
        var (session, _) = await client.TurnAsync(new { messages = Conversation(("user", "hi")) });

        var (_, detail) = await GetAsync($"{Sessions}/{session}", client);
        var (_, status) = await GetAsync($"{Sessions}/{session}/status", client);
        var (_, messages) = await GetAsync($"{Sessions}/{session}/messages", client);
        var times = new[] { detail["created_at"], detail["last_update_time"], status["last_update_time"], messages["messages"]![0]!["created_at"] }
            .Select(t => (string)t!).ToList();

        Assert.All(times, t => Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$", t));
        Assert.All(times, t => Assert.InRange(DateTimeOffset.Parse(t, CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task MessagesComeInConversationOrderWithTheAssistantsFinishReason()
    {
        var (session, _) = await SayAsync("call", "first question");
        _clock.Advance(TimeSpan.FromSeconds(10));
        await SayAsync("call", "second question");

        var (status, list) = await GetAsync($"{Sessions}/{session}/messages");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["messages", "total", "page", "page_size", "has_next"], Keys(list));
        var messages = list["messages"]!.AsArray().Select(m => m!).ToList();
        Assert.All(messages, m => Assert.Equal(["id", "role", "content", "tool_calls", "finish_reason", "created_at"], Keys(m).Take(6)));
        Assert.Equal(
            ["user:first question", "assistant:Echo: first question", "user:second question", "assistant:Echo: second question"],
            messages.Select(m => $"{m["role"]}:{m["content"]}"));
        Assert.Equal([null, "stop", null, "stop"], messages.Select(m => (string?)m["finish_reason"]));
        Assert.All(messages, m => Assert.Null(m["tool_calls"]));
        var ids = messages.Select(m => (long)m["id"]!).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(4, ids.Distinct().Count());
        Assert.Equal(["2026-11-25T10:00:00Z", "2026-11-25T10:00:00Z", "2026-11-25T10:00:10Z", "2026-11-25T10:00:10Z"], messages.Select(m => (string)m["created_at"]!));
        Assert.Equal(4, (int)list["total"]!);
        Assert.Equal(1, (int)list["page"]!);
        Assert.Equal(20, (int)list["page_size"]!);
        Assert.False((bool)list["has_next"]!);
    }

    [Fact]
    public async Task MessagesArePaged()
    {
        Guid session = default;
        foreach (var text in new[] { "one", "two", "three" })
            (session, _) = await SayAsync("call", text);

        var (_, firstPage) = await GetAsync($"{Sessions}/{session}/messages?page=1&page_size=4");
        var (_, secondPage) = await GetAsync($"{Sessions}/{session}/messages?page=2&page_size=4");
        var (_, beyond) = await GetAsync($"{Sessions}/{session}/messages?page=3&page_size=4");

        Assert.Equal(
            ["user:one", "assistant:Echo: one", "user:two", "assistant:Echo: two", "user:three", "assistant:Echo: three"],
            new[] { firstPage, secondPage }.SelectMany(p => p["messages"]!.AsArray()).Select(m => $"{m!["role"]}:{m["content"]}"));
        Assert.Equal([true, false, false], new[] { firstPage, secondPage, beyond }.Select(p => (bool)p["has_next"]!));
        Assert.All(new[] { firstPage, secondPage, beyond }, p => Assert.Equal(6, (int)p["total"]!));
        Assert.Equal(2, (int)secondPage["page"]!);
        Assert.Equal(4, (int)secondPage["page_size"]!);
        Assert.Empty(beyond["messages"]!.AsArray());
    }

    /// <summary>A model that answers at once, except to "hold on", which it finishes answering only once released.</summary>
    private sealed class HeldModel
    {
        public TaskCompletionSource Holding { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public HeldModel() => Model = new((messages, _, cancellationToken) =>
            messages[^1].Text == "hold on" ? HeldAsync(cancellationToken) : ScriptedModel.Words(["ok"], TimeSpan.Zero, cancellationToken));

        public ScriptedModel Model { get; }

        private async IAsyncEnumerable<ChatResponseUpdate> HeldAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            // A first word, so that a stream starts (and its headers go out) while the turn is still running.
            yield return new ChatResponseUpdate(ChatRole.Assistant, "Let me see.");
            Holding.TrySetResult();
            // Bounded, so that a test failing before it releases the turn does not hang.
            await Release.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            yield return new ChatResponseUpdate(ChatRole.Assistant, " Done.");
            yield return new ChatResponseUpdate { FinishReason = ChatFinishReason.Stop };
        }
    }

    [Fact]
    public async Task StatusIsProcessingWhileATurnIsInFlightAndIdleAfter()
    {
        var held = new HeldModel();
        Start(model: held.Model);
        var (session, _) = await SayAsync("call", "hello");
        var (_, before) = await GetAsync($"{Sessions}/{session}/status");

        var turn = SayAsync("call", "hold on");
        await held.Holding.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var (during, processing) = await GetAsync($"{Sessions}/{session}/status");
        held.Release.SetResult();
        var (after, _) = await turn;
        var (_, idle) = await GetAsync($"{Sessions}/{session}/status");

        Assert.Equal(HttpStatusCode.OK, during);
        Assert.Equal(["session_id", "status", "is_active", "last_update_time"], Keys(processing));
        Assert.Equal(session.ToString(), (string)processing["session_id"]!);
        Assert.Equal("idle", (string)before["status"]!);
        Assert.Equal("processing", (string)processing["status"]!);
        Assert.True((bool)processing["is_active"]!);
        Assert.Equal("2026-11-25T10:00:00Z", (string)processing["last_update_time"]!);
        Assert.Equal(session, after);
        Assert.Equal("idle", (string)idle["status"]!);
    }

    [Fact]
    public async Task AStreamedFirstTurnIsProcessingUnderTheIdItsHeaderNames()
    {
        var held = new HeldModel();
        Start(model: held.Model);
        using var response = await Client.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(new { messages = Conversation(("user", "hold on")), stream = true }) },
            HttpCompletionOption.ResponseHeadersRead);
        var session = Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());
        await held.Holding.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var during = await GetAsync($"{Sessions}/{session}/status");
        held.Release.SetResult();
        await response.ReadEventsAsync();
        var (_, idle) = await GetAsync($"{Sessions}/{session}/status");

        Assert.Equal(HttpStatusCode.OK, during.Status);
        Assert.Equal("processing", (string?)during.Body["status"]);
        Assert.Equal("idle", (string?)idle["status"]);
    }

    [Theory]
    [InlineData("conversation_id")]
    [InlineData("session_id")]
    public async Task EveryRouteFindsASessionByTheNameItsCallerGaveIt(string naming)
    {
        var (session, _) = await Client.TurnAsync(NamedTurn(naming, "call-7", "hello"));
        await Client.TurnAsync(NamedTurn(naming, "call-7", "again"));

        var (detailStatus, detail) = await GetAsync($"{Sessions}/call-7");
        var (messagesStatus, messages) = await GetAsync($"{Sessions}/call-7/messages");
        var (statusStatus, status) = await GetAsync($"{Sessions}/call-7/status");
        using var deleted = await Client.DeleteAsync($"{Sessions}/call-7");
        var byIdAfterwards = await GetAsync($"{Sessions}/{session}");
        var byNameAfterwards = await GetAsync($"{Sessions}/call-7");

        Assert.Equal(HttpStatusCode.OK, detailStatus);
        Assert.Equal(session.ToString(), (string)detail["session_id"]!);
        Assert.Equal("call-7", (string)detail["conversation_id"]!);
        Assert.Equal(4, (int)detail["message_count"]!);
        Assert.Equal(HttpStatusCode.OK, messagesStatus);
        Assert.Equal(["user:hello", "assistant:Echo: hello", "user:again", "assistant:Echo: again"],
            messages["messages"]!.AsArray().Select(m => $"{m!["role"]}:{m["content"]}"));
        Assert.Equal(HttpStatusCode.OK, statusStatus);
        Assert.Equal(session.ToString(), (string)status["session_id"]!);
        Assert.Equal("idle", (string)status["status"]!);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        AssertError(HttpStatusCode.NotFound, "not_found_error", byIdAfterwards);
        AssertError(HttpStatusCode.NotFound, "not_found_error", byNameAfterwards);
        Assert.Equal(0, await App.QueryAsync(db => db.SessionMessages.CountAsync(m => m.SessionId == session)));
    }

    [Fact]
    public async Task ANameThatLooksLikeAnIdStillFindsItsSession()
    {
        var name = Guid.NewGuid().ToString();
        var (session, _) = await Client.TurnAsync(NamedTurn("session_id", name, "hello"));

        var (status, detail) = await GetAsync($"{Sessions}/{name}");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(session.ToString(), (string)detail["session_id"]!);
        Assert.Equal(name, (string)detail["conversation_id"]!);
        Assert.NotEqual(name, session.ToString());
    }

    [Fact]
    public async Task ASessionsIdComesBeforeASessionNamedWithTheSameText()
    {
        // A conversation named with the text of the id that conversation "later" will get, started before "later" is.
        var organization = await App.QueryAsync(db => db.Organizations.Select(o => o.Id).SingleAsync());
        var idOfLater = Ids.Named(organization, "later");
        var (namedLikeIt, _) = await Client.TurnAsync(NamedTurn("session_id", idOfLater.ToString(), "first"));
        var (later, _) = await Client.TurnAsync(NamedTurn("session_id", "later", "second"));

        var (_, detail) = await GetAsync($"{Sessions}/{idOfLater}");
        using var deleted = await Client.DeleteAsync($"{Sessions}/{idOfLater}");
        var remaining = await App.QueryAsync(db => db.Sessions.Select(s => s.Id).ToListAsync());

        Assert.Equal(idOfLater, later);
        Assert.NotEqual(later, namedLikeIt);
        Assert.Equal("later", (string)detail["conversation_id"]!);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal([namedLikeIt], remaining);
    }

    [Fact]
    public async Task ANamedFirstTurnIsProcessingUnderItsNameAndTheIdItsHeaderNames()
    {
        var held = new HeldModel();
        Start(model: held.Model);
        var otherOrganization = App.CreateAuthorizedClient(await App.CreateKeyAsync("other-org"));
        using var response = await Client.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(NamedTurn("session_id", "call-9", "hold on", stream: true)) },
            HttpCompletionOption.ResponseHeadersRead);
        var session = response.Headers.GetValues("X-Session-Id").Single();
        await held.Holding.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var byName = await GetAsync($"{Sessions}/call-9/status");
        var byId = await GetAsync($"{Sessions}/{session}/status");
        var byAnotherOrganization = await GetAsync($"{Sessions}/call-9/status", otherOrganization);
        held.Release.SetResult();
        await response.ReadEventsAsync();
        var (_, idle) = await GetAsync($"{Sessions}/call-9/status");

        Assert.Equal(HttpStatusCode.OK, byName.Status);
        Assert.Equal("processing", (string?)byName.Body["status"]);
        Assert.Equal(session, (string?)byName.Body["session_id"]);
        Assert.Equal("processing", (string?)byId.Body["status"]);
        AssertError(HttpStatusCode.NotFound, "not_found_error", byAnotherOrganization);
        Assert.Equal("idle", (string?)idle["status"]);
        Assert.Equal(session, (string?)idle["session_id"]);
    }

    [Fact]
    public async Task DeletingASessionRemovesItAndItsMessages()
    {
        var (doomed, _) = await SayAsync("doomed", "forget me");
        var (kept, _) = await SayAsync("kept", "remember me");

        using var deleted = await Client.DeleteAsync($"{Sessions}/{doomed}");
        var afterwards = await GetAsync($"{Sessions}/{doomed}");
        var messagesAfterwards = await GetAsync($"{Sessions}/{doomed}/messages");
        using var again = await Client.DeleteAsync($"{Sessions}/{doomed}");
        var (storedSessions, storedMessages, keptMessages) = await App.QueryAsync(async db => (
            await db.Sessions.CountAsync(s => s.Id == doomed),
            await db.SessionMessages.CountAsync(m => m.SessionId == doomed),
            await db.SessionMessages.CountAsync(m => m.SessionId == kept)));

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Empty(await deleted.Content.ReadAsByteArrayAsync());
        AssertError(HttpStatusCode.NotFound, "not_found_error", afterwards);
        AssertError(HttpStatusCode.NotFound, "not_found_error", messagesAfterwards);
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        Assert.Equal("not_found_error", (string)(await again.ReadJsonAsync())["error"]!["type"]!);
        Assert.Equal(0, storedSessions);
        Assert.Equal(0, storedMessages);
        Assert.Equal(2, keptMessages);
    }

    [Theory]
    [InlineData("GET", "")]
    [InlineData("GET", "/messages")]
    [InlineData("GET", "/status")]
    [InlineData("DELETE", "")]
    public async Task UnknownAndMalformedIdsAreNotFound(string method, string suffix)
    {
        await SayAsync("call", "hi");

        foreach (var id in new[] { Guid.NewGuid().ToString(), "nope" })
        {
            using var response = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"{Sessions}/{id}{suffix}"));
            var body = await response.ReadJsonAsync();

            AssertError(HttpStatusCode.NotFound, "not_found_error", (response.StatusCode, body));
            Assert.Equal("not_found", (string)body["error"]!["code"]!);
        }
    }

    [Theory]
    [InlineData("GET", "", Scopes.SessionsRead)]
    [InlineData("GET", "/{id}", Scopes.SessionsRead)]
    [InlineData("GET", "/{id}/status", Scopes.SessionsRead)]
    [InlineData("GET", "/{id}/messages", Scopes.SessionsMessages)]
    [InlineData("DELETE", "/{id}", Scopes.SessionsDelete)]
    public async Task EachRouteNeedsItsScope(string method, string route, string scope)
    {
        var (session, _) = await SayAsync("call", "hi");
        var path = Sessions + route.Replace("{id}", session.ToString());
        var lacking = App.CreateAuthorizedClient(await App.CreateKeyAsync(BootstrapKey.OrganizationName, [.. Scopes.All.Where(s => s != scope)]));
        var holding = App.CreateAuthorizedClient(await App.CreateKeyAsync(BootstrapKey.OrganizationName, scope));

        using var refused = await lacking.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        var error = await refused.ReadJsonAsync();
        var stillThere = await App.QueryAsync(db => db.Sessions.AnyAsync(s => s.Id == session));
        using var admitted = await holding.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        AssertError(HttpStatusCode.Forbidden, "permission_error", (refused.StatusCode, error));
        Assert.Equal("insufficient_scope", (string)error["error"]!["code"]!);
        Assert.Contains(scope, (string)error["error"]!["message"]!);
        Assert.True(stillThere);
        Assert.True(admitted.IsSuccessStatusCode, $"{method} {path} with only {scope}: {admitted.StatusCode}");
    }

    [Fact]
    public async Task RetentionDeletesSessionsIdleForLongerAndTheirMessages()
    {
        var app = Start(new() { ["Junis:Sessions:RetentionDays"] = "1" });
        var (old, _) = await SayAsync("old", "long ago");
        _clock.Advance(TimeSpan.FromDays(2));
        var (recent, _) = await SayAsync("recent", "just now");

        await app.Services.GetRequiredService<SessionRetention>().DeleteExpiredAsync(1, default);

        var (oldSessions, oldMessages, recentMessages) = await app.QueryAsync(async db => (
            await db.Sessions.CountAsync(s => s.Id == old),
            await db.SessionMessages.CountAsync(m => m.SessionId == old),
            await db.SessionMessages.CountAsync(m => m.SessionId == recent)));
        Assert.Equal(0, oldSessions);
        Assert.Equal(0, oldMessages);
        Assert.Equal(2, recentMessages);
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync($"{Sessions}/{old}")).Status);
        Assert.Equal([recent], SessionIds((await GetAsync(Sessions)).Body));
    }
}
