using System.Diagnostics;
using System.Net;
using System.Net.ServerSentEvents;
using System.Text.Json.Nodes;
using Junis.Server.Orchestration;
using Junis.Server.Sessions;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using static Junis.Server.Tests.Sessions.SessionTestHelpers;

namespace Junis.Server.Tests.Sessions;

/// <summary>
/// A request that is the same turn as one still generating (same key, same conversation, same input: a client retrying
/// because its answer was late) joins it: it gets what was generated so far, then the rest as it comes, and the one
/// stored turn; the model is called once. Over real HTTP, against a model server that takes 2 s to say ten words.
/// </summary>
public abstract class RetryJoinTests : IAsyncLifetime
{
    public sealed class OnSqlite() : RetryJoinTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : RetryJoinTests(Engine.PostgreSql);

    private const string Answer = "One two three four five six seven eight nine ten.";
    private static readonly string[] Words = ["One", " two", " three", " four", " five", " six", " seven", " eight", " nine", " ten."];
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly Engine _engine;
    private readonly FakeOpenAIServer _model = new();
    private readonly TaskCompletionSource _called = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<long> _aborted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private JunisApp _app = null!;
    private HttpClient _client = null!;

    /// <summary>
    /// A client whose callers hang up when they leave: one that drains what is left of a response to keep its connection
    /// (as HttpClient does by default, for up to 2 s) would hear the whole answer instead.
    /// </summary>
    private HttpClient _hangingUp = null!;

    protected RetryJoinTests(Engine engine) => _engine = engine;

    public Task InitializeAsync()
    {
        _model.Handler = SlowlyAsync;
        _app = new JunisApp(_model.Settings(), engine: _engine);
        _app.UseKestrel();
        _app.StartServer();
        _client = _app.CreateAuthorizedClient();
        _hangingUp = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = _client.BaseAddress };
        _hangingUp.DefaultRequestHeaders.Authorization = _client.DefaultRequestHeaders.Authorization;
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        _hangingUp.Dispose();
        await _app.DisposeAsync();
        await _model.DisposeAsync();
    }

    /// <summary>Ten words, one every 200 ms; a whole answer after 2 s. Notes when it is called, and when its caller goes.</summary>
    private async Task SlowlyAsync(HttpContext context, JsonObject body)
    {
        using var _ = context.RequestAborted.Register(() => _aborted.TrySetResult(Stopwatch.GetTimestamp()));
        _called.TrySetResult();
        if (!FakeOpenAIServer.Streams(body))
            await Task.Delay(TimeSpan.FromSeconds(2), context.RequestAborted);
        await FakeOpenAIServer.StreamAsync(context, body, Words, delay: TimeSpan.FromMilliseconds(200));
    }

    private static object Request(string text, bool stream) => new { messages = Conversation(("user", text)), stream };

    /// <summary>Sends the retry once the first request has been generating for 200 ms.</summary>
    private async Task<T> RetryAsync<T>(Func<Task<T>> send)
    {
        await _called.Task.WaitAsync(Patience);
        await Task.Delay(200);
        return await send();
    }

    private static string Text(List<string> events) =>
        string.Concat(events.Chunks().Where(c => c["choices"]!.AsArray().Count > 0).Select(c => (string?)c["choices"]![0]!["delta"]!["content"]));

    private static Guid SessionOf(HttpResponseMessage response) => Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());

    /// <summary>The session's messages once <paramref name="count"/> are stored (a turn whose callers all left is stored after they go).</summary>
    private async Task<List<SessionMessage>> StoredAsync(Guid session, int count)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            var messages = await _app.MessagesAsync(session);
            if (messages.Count >= count || DateTime.UtcNow > deadline)
                return messages;
            await Task.Delay(50);
        }
    }

    private async Task AssertOneAnsweredTurnAsync(Guid session)
    {
        Assert.Single(_model.Requests);
        Assert.Single(await _app.SessionsAsync());
        var messages = await _app.MessagesAsync(session);
        Assert.Equal(["user:count to ten", $"assistant:{Answer}"], messages.Transcript());
        Assert.False(messages[1].Interrupted);
        Assert.Equal(0, _app.Services.GetRequiredService<RunningTurns>().Count); // forgotten once stored
    }

    /// <summary>A stream read until <paramref name="events"/> have come, then left: the connection is closed.</summary>
    private static async Task<long> LeaveStreamAsync(HttpResponseMessage response, int events)
    {
        await using var body = await response.Content.ReadAsStreamAsync();
        await using var items = SseParser.Create(body).EnumerateAsync().GetAsyncEnumerator();
        for (var i = 0; i < events; i++)
            Assert.True(await items.MoveNextAsync().AsTask().WaitAsync(Patience));
        response.Dispose();
        return Stopwatch.GetTimestamp();
    }

    private Task<HttpResponseMessage> OpenStreamAsync(object body) =>
        _hangingUp.SendAsync(new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(body) }, HttpCompletionOption.ResponseHeadersRead);

    [Fact]
    public async Task AStreamedRetryJoinsTheRunningTurnAndBothGetTheWholeAnswer()
    {
        var body = Request("count to ten", stream: true);
        var first = _client.StreamAsync(body);
        var (retry, retryEvents, retryBroken) = await RetryAsync(() => _client.StreamAsync(body));
        var (original, firstEvents, firstBroken) = await first;
        using var _ = retry;
        using var __ = original;

        Assert.Null(retryBroken);
        Assert.Null(firstBroken);
        Assert.Equal(Answer, Text(retryEvents));
        Assert.Equal(Answer, Text(firstEvents));
        Assert.Equal("[DONE]", retryEvents[^1]);
        Assert.Equal(SessionOf(original), SessionOf(retry));
        await AssertOneAnsweredTurnAsync(SessionOf(retry));
    }

    [Fact]
    public async Task ANonStreamedRetryJoinsTheRunningTurnAndBothGetTheWholeAnswer()
    {
        var body = Request("count to ten", stream: false);
        var first = _client.PostCompletionAsync(body);
        using var retry = await RetryAsync(() => _client.PostCompletionAsync(body));
        using var original = await first;

        Assert.Equal(HttpStatusCode.OK, retry.StatusCode);
        Assert.Equal(Answer, (string?)(await retry.ReadJsonAsync())["choices"]![0]!["message"]!["content"]);
        Assert.Equal(Answer, (string?)(await original.ReadJsonAsync())["choices"]![0]!["message"]!["content"]);
        Assert.Equal(SessionOf(original), SessionOf(retry));
        await AssertOneAnsweredTurnAsync(SessionOf(retry));
    }

    [Fact]
    public async Task WhenTheFirstCallerLeavesTheRetryStillGetsTheWholeAnswerAndTheTurnIsStoredWhole()
    {
        var body = Request("count to ten", stream: true);
        using var original = await OpenStreamAsync(body);
        var retry = RetryAsync(() => _client.StreamAsync(body));
        await _called.Task.WaitAsync(Patience);
        // The first caller hears three words, then hangs up, while the retry listens.
        await Task.Delay(400);
        await LeaveStreamAsync(original, events: 4);
        var (response, events, broken) = await retry;
        using var _ = response;

        Assert.Null(broken);
        Assert.Equal(Answer, Text(events));
        Assert.False(_aborted.Task.IsCompleted, "the model's answer was not cut");
        await AssertOneAnsweredTurnAsync(SessionOf(response));
    }

    [Fact]
    public async Task WhenEveryCallerLeavesTheModelIsStoppedAtOnceAndTheTurnKeptInterrupted()
    {
        var body = Request("count to ten", stream: true);
        using var original = await OpenStreamAsync(body);
        using var retry = await RetryAsync(() => OpenStreamAsync(body));
        var session = SessionOf(original);

        await LeaveStreamAsync(original, events: 3);
        await Task.Delay(300);
        Assert.False(_aborted.Task.IsCompleted, "the retry was still listening");
        var left = await LeaveStreamAsync(retry, events: 3);
        var aborted = await _aborted.Task.WaitAsync(Patience);

        Assert.True(Stopwatch.GetElapsedTime(left, aborted) < TimeSpan.FromMilliseconds(500), $"aborted {Stopwatch.GetElapsedTime(left, aborted)} after the last caller left");
        Assert.Single(_model.Requests);
        Assert.Equal(session, SessionOf(retry));
        var messages = await StoredAsync(session, 2);
        Assert.Equal(["user", "assistant"], messages.Select(m => m.Role));
        Assert.True(messages[1].Interrupted);
        Assert.StartsWith("One two", messages[1].Content);
        Assert.NotEqual(Answer, messages[1].Content);
    }

    [Fact]
    public async Task WhenTheOnlyCallerLeavesTheModelIsStoppedAtOnce()
    {
        using var response = await OpenStreamAsync(Request("count to ten", stream: true));
        var left = await LeaveStreamAsync(response, events: 3);
        var aborted = await _aborted.Task.WaitAsync(Patience);

        Assert.True(Stopwatch.GetElapsedTime(left, aborted) < TimeSpan.FromMilliseconds(500), $"aborted {Stopwatch.GetElapsedTime(left, aborted)} after the caller left");
        var messages = await StoredAsync(SessionOf(response), 2);
        Assert.True(messages[1].Interrupted);
    }

    [Fact]
    public async Task IdenticalRequestsAtOnceCallTheModelOnce()
    {
        // Sent together, so that several are between finding no turn to join and registering their own: a request's
        // model is called only once its turn is registered, and the ones that find another registered first join it.
        var turns = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => _client.TurnAsync(Request("count to ten", stream: false))));

        Assert.All(turns, t => Assert.Equal(Answer, t.Reply));
        Assert.Single(turns.Select(t => t.Session).Distinct());
        await AssertOneAnsweredTurnAsync(turns[0].Session);
    }

    [Fact]
    public async Task DifferentRequestsAtOnceEachCallTheModel()
    {
        var organization = await _app.QueryAsync(db => db.Organizations.Select(o => o.Name).SingleAsync());
        using var otherKey = _app.CreateAuthorizedClient(await _app.CreateKeyAsync(organization));

        var turns = await Task.WhenAll(
            _client.TurnAsync(Request("count to ten", stream: false)),
            _client.TurnAsync(Request("count to ten, please", stream: false)),
            otherKey.TurnAsync(Request("count to ten", stream: false)));

        Assert.Equal(3, _model.Requests.Count);
        Assert.Equal(3, turns.Select(t => t.Session).Distinct().Count());
        Assert.All(turns, t => Assert.Equal(Answer, t.Reply));
        Assert.Equal(3, (await _app.SessionsAsync()).Count);
    }
}
