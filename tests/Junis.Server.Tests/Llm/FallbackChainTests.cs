using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// A provider with fallbacks, over real HTTP against two model servers: the backup answers when the primary fails
/// before its first words, the answer names the provider that gave it (a header and the session), the caller's own
/// mistakes are not retried elsewhere, and a primary that keeps failing is skipped by its breaker.
/// </summary>
public sealed class FallbackChainTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private readonly FakeOpenAIServer _primary = new();
    private readonly FakeOpenAIServer _backup = new();
    private JunisApp _app = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _backup.Handler = (context, body) => FakeOpenAIServer.StreamAsync(context, body, ["From", " the", " backup."]);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
            await _app.DisposeAsync();
        await _primary.DisposeAsync();
        await _backup.DisposeAsync();
    }

    private void Start(Dictionary<string, string?>? settings = null, int primaryTimeoutSeconds = 30)
    {
        var all = _primary.Settings(primaryTimeoutSeconds);
        all["Junis:Llm:Fallbacks:0"] = "backup";
        all["Junis:Providers:backup:Provider"] = "OpenAI";
        all["Junis:Providers:backup:BaseUrl"] = _backup.BaseUrl;
        all["Junis:Providers:backup:ApiKey"] = "sk-backup-secret";
        all["Junis:Providers:backup:Model"] = "backup-model";
        foreach (var (name, value) in settings ?? [])
            all[name] = value;
        _app = new JunisApp(all);
        _app.UseKestrel();
        _app.StartServer();
        _client = _app.CreateAuthorizedClient();
    }

    private static Task FailAsync(HttpContext context, int status)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync("""{"error":{"message":"Upstream trouble at 10.1.2.3","type":"server_error"}}""");
    }

    private async Task<JsonNode> ReplyOfAsync(HttpResponseMessage response)
    {
        var session = response.Headers.GetValues("X-Session-Id").Single();
        using var messages = await _client.GetAsync($"/api/external/sessions/{session}/messages");
        var list = (await messages.ReadJsonAsync())["messages"]!.AsArray();
        return list[^1]!;
    }

    [Fact]
    public async Task APrimaryThatFailsIsAnsweredByTheBackupWhole()
    {
        _primary.Handler = (context, _) => FailAsync(context, 500);
        Start();

        using var response = await _client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Hello?") } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("From the backup.", (string?)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]);
        Assert.Equal("backup", response.Headers.GetValues("X-Model-Provider").Single());
        Assert.Single(_primary.Requests);
        Assert.Equal("backup-model", (string?)_backup.Requests.Single().Body["model"]);
        Assert.Equal("sk-backup-secret", _backup.Requests.Single().Authorization.Replace("Bearer ", ""));
        var reply = await ReplyOfAsync(response);
        Assert.Equal("backup", (string?)reply["provider"]);
        Assert.Equal("From the backup.", (string?)reply["content"]);
    }

    [Fact]
    public async Task APrimaryThatFailsIsAnsweredByTheBackupStreamed()
    {
        _primary.Handler = (context, _) => FailAsync(context, 503);
        Start();

        var (response, events, broken) = await _client.StreamAsync(new { messages = new[] { Api.UserMessage("Hello?") }, stream = true });
        using var _ = response;

        Assert.Null(broken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal("From the backup.", string.Concat(events.Chunks().Select(c => (string?)c["choices"]?[0]?["delta"]?["content"])));
        Assert.Equal("backup", response.Headers.GetValues("X-Model-Provider").Single());
        Assert.Equal("backup", (string?)(await ReplyOfAsync(response))["provider"]);
    }

    [Fact]
    public async Task AnAnswerOfThePrimaryNamesIt()
    {
        Start();

        using var response = await _client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Hello?") } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("default", response.Headers.GetValues("X-Model-Provider").Single());
        Assert.Empty(_backup.Requests);
        Assert.Equal("default", (string?)(await ReplyOfAsync(response))["provider"]);
    }

    [Fact]
    public async Task TheCallersOwnMistakeIsNotTriedElsewhere()
    {
        _primary.Handler = (context, _) =>
        {
            context.Response.StatusCode = 400;
            return context.Response.WriteAsJsonAsync(new { error = new { message = "This model's maximum context length is 8 tokens." } });
        };
        Start();

        using var response = await _client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Hello?") } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("maximum context length", (string?)(await response.ReadJsonAsync())["error"]!["message"]);
        Assert.Empty(_backup.Requests);
    }

    [Fact]
    public async Task WhenEveryProviderFailsTheCallerIsToldOnce()
    {
        _primary.Handler = (context, _) => FailAsync(context, 500);
        _backup.Handler = (context, _) => FailAsync(context, 502);
        Start();

        using var response = await _client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Hello?") } });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.NotNull((await response.ReadJsonAsync())["error"]!["message"]);
        Assert.Single(_primary.Requests);
        Assert.Single(_backup.Requests);
    }

    [Fact]
    public async Task AfterTheBreakerOpensRequestsNoLongerWaitOnTheDeadProvider()
    {
        // The primary accepts connections but never answers: each call waits out its timeout, until the breaker opens.
        _primary.Handler = (context, _) => Task.Delay(Timeout.Infinite, context.RequestAborted);
        Start(new() { ["Junis:Llm:BreakAfterFailures"] = "2", ["Junis:Llm:BreakSeconds"] = "60" }, primaryTimeoutSeconds: 1);

        var waits = new List<TimeSpan>();
        for (var i = 0; i < 4; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await _client.PostCompletionAsync(new { messages = new[] { Api.UserMessage($"Hello {i}?") } }).WaitAsync(Patience);
            waits.Add(clock.Elapsed);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("backup", response.Headers.GetValues("X-Model-Provider").Single());
        }

        Assert.All(waits.Take(2), wait => Assert.True(wait >= TimeSpan.FromSeconds(1), $"waited {wait}"));
        Assert.All(waits.Skip(2), wait => Assert.True(wait < TimeSpan.FromMilliseconds(500), $"waited {wait}"));
        Assert.Equal(2, _primary.Requests.Count);
        Assert.Equal(4, _backup.Requests.Count);
    }

    [Fact]
    public async Task AnOpenBreakerLetsOneCallThroughOnceItsPauseIsOver()
    {
        var healthy = false;
        _primary.Handler = (context, body) => Volatile.Read(ref healthy)
            ? FakeOpenAIServer.StreamAsync(context, body, ["Primary", " again."])
            : FailAsync(context, 500);
        Start(new() { ["Junis:Llm:BreakAfterFailures"] = "2", ["Junis:Llm:BreakSeconds"] = "1" });

        for (var i = 0; i < 3; i++)
        {
            using var failedOver = await _client.PostCompletionAsync(new { messages = new[] { Api.UserMessage($"Hello {i}?") } });
            Assert.Equal("backup", failedOver.Headers.GetValues("X-Model-Provider").Single());
        }
        Assert.Equal(2, _primary.Requests.Count);

        Volatile.Write(ref healthy, true);
        await Task.Delay(TimeSpan.FromMilliseconds(1300));
        using var response = await _client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Hello again?") } });

        Assert.Equal("default", response.Headers.GetValues("X-Model-Provider").Single());
        Assert.Equal("Primary again.", (string?)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]);
        Assert.Equal(3, _primary.Requests.Count);
    }

    private sealed class HedgeTimes
    {
        public readonly Stopwatch Clock = Stopwatch.StartNew();
        public TimeSpan PrimaryCalled, BackupCalled, BackupSpoke;
        public TaskCompletionSource<TimeSpan> PrimaryClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A primary that begins at once and then says nothing; a backup that speaks 100 ms after it is called.</summary>
    private void SilentPrimaryAndQuickBackup(HedgeTimes times)
    {
        _primary.Handler = async (context, _) =>
        {
            times.PrimaryCalled = times.Clock.Elapsed;
            var closed = times.PrimaryClosed;
            context.RequestAborted.Register(() => closed.TrySetResult(times.Clock.Elapsed));
            context.Response.ContentType = "text/event-stream";
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        };
        _backup.Handler = async (context, _) =>
        {
            times.BackupCalled = times.Clock.Elapsed;
            context.Response.ContentType = "text/event-stream";
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
            await Task.Delay(100);
            times.BackupSpoke = times.Clock.Elapsed;
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["content"] = "Backup here." }, null));
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject(), "stop"));
            await FakeOpenAIServer.WriteEventAsync(context, "[DONE]");
        };
    }

    [Fact]
    public async Task APrimarySilentPastTheFirstTokenDeadlineIsOvertakenByTheBackup()
    {
        var times = new HedgeTimes();
        SilentPrimaryAndQuickBackup(times);
        const int deadlineMs = 300;
        Start(new() { ["Junis:Llm:FirstTokenMs"] = deadlineMs.ToString(System.Globalization.CultureInfo.InvariantCulture) });

        // The first round warms the server's code up (and connects to both providers); the second is measured.
        HttpResponseMessage response = null!;
        List<string> events = null!;
        TimeSpan sent = default;
        TimeSpan? firstWords = null;
        for (var round = 0; round < 2; round++)
        {
            times.PrimaryClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
            firstWords = null;
            sent = times.Clock.Elapsed;
            (response, events, var broken) = await _client.StreamAsync(new { messages = new[] { Api.UserMessage($"Quick {round}!") }, stream = true }, data =>
            {
                if (firstWords is null && data != "[DONE]" && (string?)JsonNode.Parse(data)!["choices"]?[0]?["delta"]?["content"] is { Length: > 0 })
                    firstWords = times.Clock.Elapsed;
            });
            Assert.Null(broken);
        }
        using var _ = response;

        Assert.Equal("Backup here.", string.Concat(events.Chunks().Select(c => (string?)c["choices"]?[0]?["delta"]?["content"])));
        // From the request sent, not from the primary's receiving it: the server's own work counts against the deadline.
        var deadline = sent + TimeSpan.FromMilliseconds(deadlineMs);
        Assert.True(times.PrimaryCalled < deadline);
        Assert.True(times.BackupCalled >= deadline - TimeSpan.FromMilliseconds(5), $"the backup was called {(deadline - times.BackupCalled).TotalMilliseconds} ms before the deadline");
        var backupFirstToken = times.BackupSpoke - times.BackupCalled;
        Assert.True(firstWords <= deadline + backupFirstToken + TimeSpan.FromMilliseconds(20),
            $"first words {(firstWords - deadline)?.TotalMilliseconds} ms after the deadline; the backup took {backupFirstToken.TotalMilliseconds} ms from its call {(times.BackupCalled - deadline).TotalMilliseconds} ms after the deadline");
        // The primary's call is closed as soon as the backup has spoken.
        var closed = await times.PrimaryClosed.Task.WaitAsync(Patience);
        Assert.True(closed - times.BackupSpoke < TimeSpan.FromSeconds(1), $"the primary was closed {(closed - times.BackupSpoke).TotalMilliseconds} ms after the backup spoke");
        Assert.Equal("backup", (string?)(await ReplyOfAsync(response))["provider"]);
        Assert.Equal(2, _primary.Requests.Count);
        Assert.Equal(2, _backup.Requests.Count);
    }

    [Fact]
    public async Task APrimaryThatSpeaksBeforeTheDeadlineAnswersAlone()
    {
        Start(new() { ["Junis:Llm:FirstTokenMs"] = "2000" });

        var (response, events, broken) = await _client.StreamAsync(new { messages = new[] { Api.UserMessage("Hello?") }, stream = true });
        using var _ = response;

        Assert.Null(broken);
        Assert.Equal("Hello from the model", string.Concat(events.Chunks().Select(c => (string?)c["choices"]?[0]?["delta"]?["content"])));
        Assert.Empty(_backup.Requests);
        Assert.Equal("default", (string?)(await ReplyOfAsync(response))["provider"]);
    }
}
