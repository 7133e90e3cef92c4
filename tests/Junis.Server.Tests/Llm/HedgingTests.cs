using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Junis.Server.Tests.Llm;

/// <summary>
/// A first-token deadline (<c>Junis:Llm:FirstTokenMs</c>): a primary that has begun but says nothing by then is
/// overtaken by the backup, started at the deadline, whose first words reach the caller as soon as it says them, and
/// the primary's call is closed; a primary that speaks in time answers alone.
/// </summary>
public sealed class HedgingTests : ChainTests
{
    private sealed class HedgeTimes
    {
        public readonly Stopwatch Clock = Stopwatch.StartNew();
        public TimeSpan PrimaryCalled, BackupCalled, BackupSpoke;
        public TaskCompletionSource<TimeSpan> PrimaryClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>A primary that begins at once and then says nothing; a backup that speaks 100 ms after it is called.</summary>
    private void SilentPrimaryAndQuickBackup(HedgeTimes times)
    {
        Primary.Handler = async (context, _) =>
        {
            times.PrimaryCalled = times.Clock.Elapsed;
            var closed = times.PrimaryClosed;
            context.RequestAborted.Register(() => closed.TrySetResult(times.Clock.Elapsed));
            context.Response.ContentType = "text/event-stream";
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        };
        Backup.Handler = async (context, _) =>
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
            (response, events, var broken) = await Client.StreamAsync(new { messages = new[] { Api.UserMessage($"Quick {round}!") }, stream = true }, data =>
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
        Assert.Equal(2, Primary.Requests.Count);
        Assert.Equal(2, Backup.Requests.Count);
    }

    [Fact]
    public async Task APrimaryThatSpeaksBeforeTheDeadlineAnswersAlone()
    {
        Start(new() { ["Junis:Llm:FirstTokenMs"] = "2000" });

        var (response, events, broken) = await Client.StreamAsync(new { messages = new[] { Api.UserMessage("Hello?") }, stream = true });
        using var _ = response;

        Assert.Null(broken);
        Assert.Equal("Hello from the model", string.Concat(events.Chunks().Select(c => (string?)c["choices"]?[0]?["delta"]?["content"])));
        Assert.Empty(Backup.Requests);
        Assert.Equal("default", (string?)(await ReplyOfAsync(response))["provider"]);
    }
}
