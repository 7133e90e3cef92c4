using System.Data.Common;
using System.Net;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Junis.Server.Data;
using Junis.Server.Data.PostgreSql;
using Junis.Server.Llm;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Sessions;

/// <summary>What a turn leaves behind, and when: always before the client sees it complete.</summary>
public abstract class SessionPersistenceTests(Engine engine) : IDisposable
{
    public sealed class OnSqlite() : SessionPersistenceTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : SessionPersistenceTests(Engine.PostgreSql);

    private readonly List<string> _databases = [];

    public void Dispose()
    {
        foreach (var file in _databases.SelectMany(d => new[] { d, d + "-wal", d + "-shm" }))
            File.Delete(file);
    }

    /// <summary>Makes every commit slow, so that answering before the commit would be caught, not missed by luck.</summary>
    private sealed class SlowCommits : DbTransactionInterceptor
    {
        public override async ValueTask<InterceptionResult> TransactionCommittingAsync(
            DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken = default)
        {
            await Task.Delay(300, cancellationToken);
            return result;
        }
    }

    /// <summary>
    /// On SQLite a database file in WAL mode, as in production: a reader sees the last commit at once instead of waiting
    /// for the writer as it would in a shared in-memory database, so a turn acknowledged early would show up missing.
    /// PostgreSQL's readers see the last commit at once as well; its contexts are of its own type.
    /// </summary>
    private JunisApp WithSlowCommits() => engine == Engine.PostgreSql
        ? new(services: services => services.ConfigureDbContext<PostgresJunisDb>(options => options.AddInterceptors(new SlowCommits())), engine: engine)
        : new(new() { ["ConnectionStrings:Junis"] = $"Data Source={TemporaryDatabase()}" },
            services => services.ConfigureDbContext<JunisDb>(options => options.AddInterceptors(new SlowCommits())));

    private string TemporaryDatabase()
    {
        var file = Path.Combine(Path.GetTempPath(), $"junis-durability-{Guid.NewGuid():N}.db");
        _databases.Add(file);
        return file;
    }

    [Fact]
    public async Task TheTurnIsReadableFromAFreshContextTheMomentTheClientSeesDone()
    {
        using var app = WithSlowCommits();
        using var response = await app.CreateAuthorizedClient().SendAsync(
            new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(new { messages = Conversation(("user", "keep this")), stream = true }) },
            HttpCompletionOption.ResponseHeadersRead);
        var session = Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());

        await using var body = await response.Content.ReadAsStreamAsync();
        string[]? storedAtDone = null;
        await foreach (var item in SseParser.Create(body).EnumerateAsync())
        {
            if (item.Data == "[DONE]")
                storedAtDone = (await app.MessagesAsync(session)).Transcript();
        }

        Assert.NotNull(storedAtDone);
        Assert.Equal(["user:keep this", "assistant:Echo: keep this"], storedAtDone);
    }

    [Fact]
    public async Task TheTurnIsReadableFromAFreshContextTheMomentTheClientGetsTheWholeAnswer()
    {
        using var app = WithSlowCommits();
        using var response = await app.CreateAuthorizedClient().PostCompletionAsync(new { messages = Conversation(("user", "keep this")) });
        var stored = await app.MessagesAsync(Guid.Parse(response.Headers.GetValues("X-Session-Id").Single()));

        Assert.Equal(["user:keep this", "assistant:Echo: keep this"], stored.Transcript());
        Assert.Equal("stop", stored[1].FinishReason);
    }

    [Fact]
    public async Task TheReplyIsStoredWithItsFinishReasonAndTokensAndTheSessionKeepsTotals()
    {
        using var app = new JunisApp(engine: engine);
        var client = app.CreateAuthorizedClient();
        using var response = await client.PostCompletionAsync(new { messages = Conversation(("user", "one two three four")), max_tokens = 3 });
        var usage = (await response.ReadJsonAsync())["usage"]!;
        var sessionId = Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());

        var reply = (await app.MessagesAsync(sessionId))[1];
        var session = Assert.Single(await app.SessionsAsync());
        Assert.Equal("length", reply.FinishReason);
        Assert.Equal((int)usage["prompt_tokens"]!, reply.PromptTokens);
        Assert.Equal((int)usage["completion_tokens"]!, reply.CompletionTokens);
        Assert.Equal((int)usage["prompt_tokens"]!, session.PromptTokens);
        Assert.Equal((int)usage["completion_tokens"]!, session.CompletionTokens);
        Assert.False(reply.Interrupted);
    }

    [Fact]
    public async Task AStreamTheClientAbandonsStoresWhatWasGeneratedMarkedInterrupted()
    {
        var model = new ScriptedModel((_, _, ct) => ScriptedModel.Words(["Once", " upon", " a", " time", .. Enumerable.Repeat(" and", 500)], TimeSpan.FromMilliseconds(30), ct));
        using var app = new JunisApp(services: model.Install(), engine: engine);
        app.UseKestrel();
        app.StartServer();

        var response = await app.CreateAuthorizedClient().SendAsync(
            new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(new { messages = Conversation(("user", "a long story")), stream = true }) },
            HttpCompletionOption.ResponseHeadersRead);
        var session = Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());
        var body = await response.Content.ReadAsStreamAsync();
        var seen = "";
        using (var reader = new StreamReader(body))
        {
            while (!seen.Contains(" time", StringComparison.Ordinal))
                seen += await reader.ReadLineAsync();
        }
        response.Dispose();
        await model.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(5));

        var stored = await PollAsync(() => app.MessagesAsync(session), m => m.Count == 2);
        Assert.Equal("user", stored[0].Role);
        Assert.True(stored[1].Interrupted);
        Assert.StartsWith("Once upon a time", stored[1].Content);
        Assert.True(stored[1].Content!.Length < "Once upon a time".Length + 500 * 4, "only what was generated before the caller left");
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> Fails([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        throw new ModelCallException(502, "The model provider failed (HTTP 500): boom.");
#pragma warning disable CS0162 // an iterator needs a yield to be one
        yield break;
#pragma warning restore CS0162
    }

    [Fact]
    public async Task AFailedModelCallStoresTheUserMessageAndNoReplyAndItsRetryStoresItOnce()
    {
        var failing = true;
        var model = new ScriptedModel((_, _, ct) => failing ? Fails(ct) : ScriptedModel.Words(["Better now"], TimeSpan.Zero, ct));
        using var app = new JunisApp(services: model.Install(), engine: engine);
        var client = app.CreateAuthorizedClient();
        var body = new { messages = Conversation(("user", "are you there?")), elevenlabs_extra_body = new { conversation_id = "flaky" } };

        using var failed = await client.PostCompletionAsync(body);
        var session = Guid.Parse(failed.Headers.GetValues("X-Session-Id").Single());
        var afterFailure = (await app.MessagesAsync(session)).Transcript();
        failing = false;
        using var retried = await client.PostCompletionAsync(body);

        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        Assert.Equal(["user:are you there?"], afterFailure);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal(["user:are you there?", "assistant:Better now"], (await app.MessagesAsync(session)).Transcript());
    }

    [Fact]
    public async Task ToolCallsAndToolResultsAreStoredWithTheirIds()
    {
        var model = new ScriptedModel((messages, _, ct) => messages[^1].Role == ChatRole.Tool
            ? ScriptedModel.Words(["It is sunny."], TimeSpan.Zero, ct)
            : CallsWeather(ct));
        using var app = new JunisApp(services: model.Install(), engine: engine);
        var client = app.CreateAuthorizedClient();
        var tools = new[] { new { type = "function", function = new { name = "weather", parameters = new { type = "object", properties = new { city = new { type = "string" } } } } } };

        using var first = await client.PostCompletionAsync(new { messages = Conversation(("user", "Weather in Seoul?")), tools });
        var call = (await first.ReadJsonAsync())["choices"]![0]!["message"]!["tool_calls"]![0]!;
        var session = Guid.Parse(first.Headers.GetValues("X-Session-Id").Single());
        await client.TurnAsync(new
        {
            tools,
            messages = new object[]
            {
                new { role = "user", content = "Weather in Seoul?" },
                new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = (string)call["id"]!, type = "function", function = new { name = "weather", arguments = (string)call["function"]!["arguments"]! } } } },
                new { role = "tool", tool_call_id = (string)call["id"]!, content = "Sunny, 21°C" },
            },
        });

        var stored = await app.MessagesAsync(session);
        Assert.Equal(["user", "assistant", "tool", "assistant"], stored.Select(m => m.Role));
        Assert.Contains("\"name\":\"weather\"", stored[1].ToolCalls);
        Assert.Contains((string)call["id"]!, stored[1].ToolCalls);
        Assert.Equal("tool_calls", stored[1].FinishReason);
        Assert.Equal((string)call["id"]!, stored[2].ToolCallId);
        Assert.Equal("Sunny, 21°C", stored[2].Content);
        Assert.Equal("It is sunny.", stored[3].Content);
    }

    [Fact]
    public async Task ASessionDeletedDuringATurnDoesNotComeBackWhenTheTurnEnds()
    {
        var release = new TaskCompletionSource();
        var hold = false;
        var model = new ScriptedModel((_, _, ct) => hold ? HeldAsync(release.Task, ct) : ScriptedModel.Words(["ok"], TimeSpan.Zero, ct));
        using var app = new JunisApp(services: model.Install(), engine: engine);
        var client = app.CreateAuthorizedClient();
        var (session, _) = await client.TurnAsync(new { messages = Conversation(("user", "first")), elevenlabs_extra_body = new { conversation_id = "to-forget" } });
        model.Calls.Clear();
        hold = true;

        var held = client.PostCompletionAsync(new { messages = Conversation(("user", "second")), elevenlabs_extra_body = new { conversation_id = "to-forget" } });
        await PollAsync(() => Task.FromResult(model.Calls.Count), count => count > 0);
        using var deleted = await client.DeleteAsync($"/api/external/sessions/{session}");
        release.SetResult();
        using var answered = await held;

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
        Assert.Empty(await app.SessionsAsync());
        Assert.Equal(0, await app.QueryAsync(db => db.SessionMessages.CountAsync()));
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> HeldAsync(Task release, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await release.WaitAsync(cancellationToken);
        yield return new ChatResponseUpdate(ChatRole.Assistant, "late");
    }

    private static async IAsyncEnumerable<ChatResponseUpdate> CallsWeather([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        yield return new ChatResponseUpdate(ChatRole.Assistant, [new FunctionCallContent("call_w1", "weather", new Dictionary<string, object?> { ["city"] = "Seoul" })]);
        yield return new ChatResponseUpdate { FinishReason = ChatFinishReason.ToolCalls };
    }

    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
                return value;
            await Task.Delay(50);
        }
    }
}
