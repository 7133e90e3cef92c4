using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;
using static Junis.Server.Tests.Scaling.FleetApi;

namespace Junis.Server.Tests.Scaling;

/// <summary>An instance lost under load, killed or stopped: what it acknowledged stays readable from the others. Each test has a fleet of its own.</summary>
[Collection(SeveralInstances.Name)]
public sealed class InstanceLossTests(Figures figures, ITestOutputHelper output)
{
    [Fact]
    public async Task EveryTurnAcknowledgedBeforeAnInstanceIsKilledIsReadableFromTheOthers()
    {
        // Words a few milliseconds apart keep turns in flight on the instance when it dies.
        await using var fleet = await Fleet.StartAsync(3, new Dictionary<string, string?> { ["Junis__Llm__TokenDelayMs"] = "20" });
        var clients = fleet.Clients(await fleet.CreateKeyAsync("killed"));
        var acknowledged = new ConcurrentBag<(int Instance, string Text, Sent Sent)>();
        var killed = false;
        var next = -1;
        using var stop = new CancellationTokenSource();

        async Task SendTurnsAsync()
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref next);
                // As a load balancer does once an instance is gone, the turns go to the others.
                var instance = Volatile.Read(ref killed) ? 1 + i % 2 : i % 3;
                var text = $"turn {i} under load";
                try
                {
                    var sent = await clients[instance].SendAsync(Turn(text, stream: i % 2 == 0, conversation: i % 4 < 2 ? $"load-{i}" : null));
                    if (sent.Acknowledged)
                        acknowledged.Add((instance, text, sent));
                }
                catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
                {
                    // Cut off by the kill, so never acknowledged.
                }
            }
        }

        var load = Enumerable.Range(0, 24).Select(_ => Task.Run(SendTurnsAsync)).ToList();
        // Killed once it has acknowledged turns of its own, and the others go on until the drill has enough, however fast the machine.
        await UntilAsync(() => acknowledged.Count(a => a.Instance == 0) >= 10, "the instance to kill to acknowledge 10 turns");
        fleet.Instances[0].Kill();
        Volatile.Write(ref killed, true);
        var byTheKilled = acknowledged.Count(a => a.Instance == 0);
        var atTheKill = acknowledged.Count;
        await UntilAsync(() => acknowledged.Count >= Math.Max(50, atTheKill + 20), "the others to acknowledge 20 turns more, 50 in all");
        await stop.CancelAsync();
        await Task.WhenAll(load);

        var lost = new ConcurrentBag<string>();
        await Parallel.ForEachAsync(acknowledged.Select((a, i) => (a, i)), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (item, _) =>
        {
            var (turn, i) = item;
            var stored = await clients[1 + i % 2].MessagesAsync(turn.Sent.Session.ToString()!);
            Message[] expected = [new("user", turn.Text, false), new("assistant", turn.Sent.Reply, false)];
            if (stored is null || !stored.SequenceEqual(expected))
                lost.Add($"{turn.Text}, acknowledged by instance {turn.Instance}: {(stored is null ? "no session" : string.Join(" | ", stored))}");
        });

        figures.Report(output, $"kill -9 of 1 of 3 instances under load: acknowledged {acknowledged.Count} " +
            $"({byTheKilled} by the killed instance before the kill), lost {lost.Count}");
        Assert.True(acknowledged.Count >= 50, $"only {acknowledged.Count} turns acknowledged");
        Assert.True(lost.IsEmpty, $"{string.Join('\n', lost)}\n{fleet.Errors()}");
    }

    [Fact]
    public async Task SigtermLetsFiftyOpenStreamsFinishAndStoreTheirTurnsWhileReadinessFailsAtOnce()
    {
        // The model says its first word at once and the rest only after SIGTERM: every stream is open when it comes.
        var sigtermSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var model = new FakeOpenAIServer { Handler = (context, _) => HeldAnswerAsync(context, sigtermSent.Task) };
        await using var fleet = await Fleet.StartAsync(2, new Dictionary<string, string?>(
            model.Settings().Select(s => KeyValuePair.Create(s.Key.Replace(":", "__", StringComparison.Ordinal), s.Value)))
        {
            ["Junis__ShutdownSeconds"] = "20",
        });
        var clients = fleet.Clients(await fleet.CreateKeyAsync("drained"));
        var begun = Enumerable.Range(0, 50).Select(_ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).ToList();
        var opening = Stopwatch.StartNew();
        var streams = begun.Select((b, i) => clients[0].StreamAsync(
            new { stream = true, messages = new[] { Api.UserMessage($"stream {i}") } }, _ => b.TrySetResult())).ToList();
        // Each stream has begun, or has ended without a word: refused or failed.
        await Task.WhenAny(Task.WhenAll(streams.Select((stream, i) => Task.WhenAny(begun[i].Task, stream))), Task.Delay(TimeSpan.FromSeconds(60)));
        opening.Stop();
        Assert.True(begun.All(b => b.Task.IsCompleted), $"{begun.Count(b => b.Task.IsCompleted)} of 50 streams began within 60 s, " +
            $"{model.Requests.Count} reached the model; of those that ended, the statuses: " +
            $"{string.Join(", ", streams.Where(s => s.IsCompletedSuccessfully).Select(s => Status(s.Result.Response)))}\n{fleet.Errors()}");

        using var probe = new HttpClient { BaseAddress = fleet.Instances[0].Client.BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
        var sigterm = new Stopwatch();
        using var stopProbing = new CancellationTokenSource();
        var probes = ProbeReadinessAsync(probe, sigterm, () => streams.Count(s => !s.IsCompleted), stopProbing.Token);
        await Task.Delay(200);
        sigterm.Start();
        fleet.Instances[0].Terminate();
        // Readiness has a moment to fail before the first stream can end.
        await Task.Delay(200);
        sigtermSent.SetResult();

        var ended = await Task.WhenAll(streams);
        var exitCode = await fleet.Instances[0].WaitForExitAsync(TimeSpan.FromSeconds(30));
        await stopProbing.CancelAsync();
        var seen = await probes;

        var done = ended.Count(s => s.Broken is null && s.Events is [.., "[DONE]"]);
        var stored = 0;
        foreach (var (response, _, _) in ended)
        {
            using (response)
            {
                var messages = response.Headers.TryGetValues("X-Session-Id", out var id) ? await clients[1].MessagesAsync(id.Single()) : null;
                if (messages is [{ Role: "user" }, { Role: "assistant", Content: HeldAnswer, Interrupted: false }])
                    stored++;
            }
        }
        var afterSigterm = seen.Where(p => p.AfterSigterm is not null).ToList();
        var firstFailure = afterSigterm.FirstOrDefault(p => !p.Ready);
        var failures = afterSigterm.Where(p => !p.Ready).CountBy(p => p.Failure).Select(f => $"{f.Key} ×{f.Value}");
        figures.Report(output, $"SIGTERM with 50 open streams (opened in {opening.Elapsed.TotalSeconds:F1} s): {done} completed with [DONE], " +
            $"{stored} stored and read from the other instance; readiness failed {firstFailure?.AfterSigterm?.TotalMilliseconds:F0} ms after SIGTERM " +
            $"with {firstFailure?.OpenStreams} streams open (probes failed: {string.Join(", ", failures)})");
        Assert.Contains(seen, p => p.AfterSigterm is null && p.Ready);
        Assert.NotNull(firstFailure);
        Assert.Equal(50, firstFailure.OpenStreams);
        Assert.DoesNotContain(afterSigterm.SkipWhile(p => p.Ready), p => p.Ready);
        Assert.Equal(50, done);
        Assert.Equal(50, stored);
        Assert.Equal(0, exitCode);
    }

    private const string HeldAnswer = "Held until the server was told to stop, then finished.";

    /// <summary>The model's streamed answer: its first word at once, the others a little apart once <paramref name="release"/> completes.</summary>
    private static async Task HeldAnswerAsync(HttpContext context, Task release)
    {
        var words = HeldAnswer.Split(' ').Select((word, i) => i == 0 ? word : " " + word).ToList();
        context.Response.ContentType = "text/event-stream";
        await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["role"] = "assistant", ["content"] = words[0] }, null));
        await release.WaitAsync(context.RequestAborted);
        foreach (var word in words.Skip(1))
        {
            await Task.Delay(50, context.RequestAborted);
            await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["content"] = word }, null));
        }
        await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject(), "stop"));
        await FakeOpenAIServer.WriteEventAsync(context, "[DONE]");
    }

    private static async Task UntilAsync(Func<bool> condition, string waitingFor)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"Waited 60 s for {waitingFor}.");
            await Task.Delay(10);
        }
    }

    private sealed record Probe(TimeSpan? AfterSigterm, bool Ready, string Failure, int OpenStreams);

    /// <summary>Asks for readiness every 10 ms as a load balancer would, noting each answer, until told to stop.</summary>
    private static async Task<List<Probe>> ProbeReadinessAsync(HttpClient probe, Stopwatch sigterm, Func<int> openStreams, CancellationToken stop)
    {
        var seen = new List<Probe>();
        while (!stop.IsCancellationRequested)
        {
            var after = sigterm.IsRunning ? sigterm.Elapsed : (TimeSpan?)null;
            string failure;
            try
            {
                using var ready = await probe.GetAsync("/health/ready", CancellationToken.None);
                failure = ready.IsSuccessStatusCode ? "" : $"{(int)ready.StatusCode}";
            }
            catch (HttpRequestException e)
            {
                failure = e.HttpRequestError.ToString();
            }
            catch (TaskCanceledException)
            {
                failure = "Timeout";
            }
            seen.Add(new Probe(after, failure.Length == 0, failure, openStreams()));
            await Task.Delay(10, CancellationToken.None);
        }
        return seen;
    }
}
