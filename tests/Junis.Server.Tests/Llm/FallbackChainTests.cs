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
public sealed class FallbackChainTests : ChainTests
{
    [Fact]
    public async Task APrimaryThatFailsIsAnsweredByTheBackupWhole()
    {
        Primary.Handler = (context, _) => FailAsync(context, 500);
        Start();

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Hello?") } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("From the backup.", (string?)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]);
        Assert.Equal("backup", response.Headers.GetValues("X-Model-Provider").Single());
        Assert.Single(Primary.Requests);
        Assert.Equal("backup-model", (string?)Backup.Requests.Single().Body["model"]);
        Assert.Equal("sk-backup-secret", Backup.Requests.Single().Authorization.Replace("Bearer ", ""));
        var reply = await ReplyOfAsync(response);
        Assert.Equal("backup", (string?)reply["provider"]);
        Assert.Equal("From the backup.", (string?)reply["content"]);
    }

    [Fact]
    public async Task APrimaryThatFailsIsAnsweredByTheBackupStreamed()
    {
        Primary.Handler = (context, _) => FailAsync(context, 503);
        Start();

        var (response, events, broken) = await Client.StreamAsync(new { messages = new[] { Api.UserMessage("Hello?") }, stream = true });
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

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Hello?") } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("default", response.Headers.GetValues("X-Model-Provider").Single());
        Assert.Empty(Backup.Requests);
        Assert.Equal("default", (string?)(await ReplyOfAsync(response))["provider"]);
    }

    [Fact]
    public async Task TheCallersOwnMistakeIsNotTriedElsewhere()
    {
        Primary.Handler = (context, _) =>
        {
            context.Response.StatusCode = 400;
            return context.Response.WriteAsJsonAsync(new { error = new { message = "This model's maximum context length is 8 tokens." } });
        };
        Start();

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Hello?") } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("maximum context length", (string?)(await response.ReadJsonAsync())["error"]!["message"]);
        Assert.Empty(Backup.Requests);
    }

    [Fact]
    public async Task WhenEveryProviderFailsTheCallerIsToldOnce()
    {
        Primary.Handler = (context, _) => FailAsync(context, 500);
        Backup.Handler = (context, _) => FailAsync(context, 502);
        Start();

        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Hello?") } });

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.NotNull((await response.ReadJsonAsync())["error"]!["message"]);
        Assert.Single(Primary.Requests);
        Assert.Single(Backup.Requests);
    }

    [Fact]
    public async Task AfterTheBreakerOpensRequestsNoLongerWaitOnTheDeadProvider()
    {
        // The primary accepts connections but never answers: each call waits out its timeout, until the breaker opens.
        Primary.Handler = (context, _) => Task.Delay(Timeout.Infinite, context.RequestAborted);
        Start(new() { ["Junis:Llm:BreakAfterFailures"] = "2", ["Junis:Llm:BreakSeconds"] = "60" }, primaryTimeoutSeconds: 1);

        var waits = new List<TimeSpan>();
        for (var i = 0; i < 4; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage($"Hello {i}?") } }).WaitAsync(Patience);
            waits.Add(clock.Elapsed);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("backup", response.Headers.GetValues("X-Model-Provider").Single());
        }

        Assert.All(waits.Take(2), wait => Assert.True(wait >= TimeSpan.FromSeconds(1), $"waited {wait}"));
        Assert.All(waits.Skip(2), wait => Assert.True(wait < TimeSpan.FromMilliseconds(500), $"waited {wait}"));
        Assert.Equal(2, Primary.Requests.Count);
        Assert.Equal(4, Backup.Requests.Count);
    }

    [Fact]
    public async Task AnOpenBreakerLetsOneCallThroughOnceItsPauseIsOver()
    {
        var healthy = false;
        Primary.Handler = (context, body) => Volatile.Read(ref healthy)
            ? FakeOpenAIServer.StreamAsync(context, body, ["Primary", " again."])
            : FailAsync(context, 500);
        Start(new() { ["Junis:Llm:BreakAfterFailures"] = "2", ["Junis:Llm:BreakSeconds"] = "1" });

        for (var i = 0; i < 3; i++)
        {
            using var failedOver = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage($"Hello {i}?") } });
            Assert.Equal("backup", failedOver.Headers.GetValues("X-Model-Provider").Single());
        }
        Assert.Equal(2, Primary.Requests.Count);

        Volatile.Write(ref healthy, true);
        await Task.Delay(TimeSpan.FromMilliseconds(1300));
        using var response = await Client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Hello again?") } });

        Assert.Equal("default", response.Headers.GetValues("X-Model-Provider").Single());
        Assert.Equal("Primary again.", (string?)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]);
        Assert.Equal(3, Primary.Requests.Count);
    }
}
