using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Agents;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using static Junis.Server.Tests.Agents.AgentScripts;

namespace Junis.Server.Tests.Agents;

/// <summary>
/// A <c>PARALLEL_AGENT</c> as the orchestrator, over real sockets: its sub-agents' model calls made at once, cancelled
/// together, and their outputs joined in the order the agent names them.
/// </summary>
public sealed class ParallelAgentTests : ScriptedAgentsTests
{
    private static readonly TimeSpan Soon = TimeSpan.FromSeconds(5);

    protected override Task SeedAsync()
    {
        var fanout = WorkflowAgent("fanout", AgentTypes.Parallel, "left", "right");
        fanout.IsOrchestrator = true;
        return StoreAsync(App, [fanout, LlmAgent("left"), LlmAgent("right")]);
    }

    /// <summary>A model that starts its answer (when streamed) and then says nothing, signalling its arrival and its cancellation.</summary>
    private static Func<HttpContext, JsonObject, Task> Stalls(TaskCompletionSource arrived, TaskCompletionSource aborted) =>
        async (context, body) =>
        {
            context.RequestAborted.Register(() => aborted.TrySetResult());
            if (FakeOpenAIServer.Streams(body))
            {
                context.Response.ContentType = "text/event-stream";
                await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
            }
            arrived.TrySetResult();
            // Long enough for any test, short enough that a test which fails does not hold the model server for long.
            await Task.Delay(TimeSpan.FromSeconds(20), context.RequestAborted).ContinueWith(_ => { }, TaskScheduler.Default);
        };

    private static TaskCompletionSource Signal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TheCallerLeavingCancelsEverySubAgentsModelCall(bool stream)
    {
        var (leftArrived, leftAborted, rightArrived, rightAborted) = (Signal(), Signal(), Signal(), Signal());
        Model.Handler = ByAgent(("left", Stalls(leftArrived, leftAborted)), ("right", Stalls(rightArrived, rightAborted)));
        using var leave = new CancellationTokenSource();

        var call = App.CreateAuthorizedClient().SendAsync(
            new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(new { messages = new[] { Api.UserMessage("Compare them.") }, stream }) },
            HttpCompletionOption.ResponseHeadersRead, leave.Token);
        await Task.WhenAll(leftArrived.Task, rightArrived.Task).WaitAsync(TimeSpan.FromSeconds(10));
        await leave.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        // Each model call would otherwise last 20 s (or the server's 30 s timeout).
        await leftAborted.Task.WaitAsync(Soon);
        await rightAborted.Task.WaitAsync(Soon);
        Assert.Equal(2, Model.Requests.Count);
    }

    [Theory]
    [InlineData("left", "right", 500)]
    [InlineData("right", "left", 503)]
    public async Task ASubAgentThatFailsCancelsTheOthersAndTheCallerHearsItsError(string failing, string stalling, int status)
    {
        var (arrived, aborted) = (Signal(), Signal());
        // The failing agent fails once the other's call is under way, so that there is a call to cancel.
        Model.Handler = ByAgent(
            (stalling, Stalls(arrived, aborted)),
            (failing, async (context, _) =>
            {
                await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
                await FakeOpenAIServer.ErrorAsync(context, status, $"The {failing} model is down.", "server_error");
            }));

        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("Compare them.") } });
        var body = await response.ReadJsonAsync();

        await aborted.Task.WaitAsync(Soon);
        // As one model's failure is heard without agents: the provider's failure, by its status, its own report kept back.
        Assert.True(response.StatusCode == HttpStatusCode.BadGateway, $"HTTP {(int)response.StatusCode}: {body.ToJsonString()}");
        Assert.Equal("model_error", (string?)body["error"]!["code"]);
        Assert.Equal($"The model provider failed (HTTP {status}).", (string?)body["error"]!["message"]);
    }

    /// <summary>The second sub-agent finishes first: the first answers only once the second's answer is sent, and slowly.</summary>
    private void SecondFinishesFirst(List<string> finished)
    {
        var rightDone = Signal();
        Model.Handler = ByAgent(
            ("left", async (context, body) =>
            {
                await rightDone.Task.WaitAsync(TimeSpan.FromSeconds(10));
                await FakeOpenAIServer.StreamAsync(context, body, ["Left", " one", " speaking."], delay: TimeSpan.FromMilliseconds(100));
                lock (finished)
                    finished.Add("left");
            }),
            ("right", async (context, body) =>
            {
                await FakeOpenAIServer.StreamAsync(context, body, ["Right", " two."]);
                lock (finished)
                    finished.Add("right");
                rightDone.TrySetResult();
            }));
    }

    [Fact]
    public async Task OutputsJoinInSubAgentOrderWhenTheSecondFinishesFirst()
    {
        var finished = new List<string>();
        SecondFinishesFirst(finished);

        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("Compare them.") } });
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["right", "left"], finished);
        Assert.Equal("Left one speaking.\n\nRight two.", (string?)body["choices"]![0]!["message"]!["content"]);
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
        // Silent sub-agents: each call is its own agent's, with nothing to offer.
        Assert.Equal(["left", "right"], Model.Requests.Select(r => AgentOf(r.Body)).Order());
        Assert.All(Model.Requests, r => Assert.Null(r.Body["tools"]));
    }

    [Fact]
    public async Task StreamedOutputsJoinInSubAgentOrderWhenTheSecondFinishesFirst()
    {
        var finished = new List<string>();
        SecondFinishesFirst(finished);

        var (response, events, broken) = await App.CreateAuthorizedClient().StreamAsync(
            new { messages = new[] { Api.UserMessage("Compare them.") }, stream = true });
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(broken);
        Assert.Equal(["right", "left"], finished);
        Assert.Equal("Left one speaking.\n\nRight two.", Heard(events));
        Assert.Equal("stop", FinishReason(events));
        Assert.Equal("[DONE]", events[^1]);
    }
}
