using System.Net;
using Junis.Server.Agents;
using Junis.Server.Tests.Infrastructure;
using static Junis.Server.Tests.Agents.AgentScripts;

namespace Junis.Server.Tests.Agents;

/// <summary>
/// <c>LOOP_AGENT</c>s and <c>max_llm_calls</c>, over real HTTP: how many model calls a loop makes, what ends it, and
/// what the caller hears of it.
/// </summary>
public sealed class LoopAgentTests : ScriptedAgentsTests
{

    private static Agent Loop(string name, int maxIterations, params string[] subAgents)
    {
        var loop = WorkflowAgent(name, AgentTypes.Loop, subAgents);
        loop.MaxIterations = maxIterations;
        return loop;
    }

    private async Task<string?> AskAsync()
    {
        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("Write me a poem.") } });
        var body = await response.ReadJsonAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
        return (string?)body["choices"]![0]!["message"]!["content"];
    }

    private List<string> AgentsCalled() => [.. Model.Requests.Select(r => AgentOf(r.Body))];

    [Fact]
    public async Task ACriticsExitLoopEndsTheLoopAndTheCallerHearsTheLastWordsSaid()
    {
        // The orchestrator hands over to the loop; the critic is content on the second round.
        var lead = LlmAgent("lead", "review");
        lead.IsOrchestrator = true;
        await StoreAsync(App, [lead, Loop("review", 5, "writer", "critic"), LlmAgent("writer"), LlmAgent("critic")]);
        Model.Handler = ByAgent(
            ("lead", Transfer("review")),
            ("writer", Numbered(n => Says("Draft", $" {n}."))),
            ("critic", Numbered(n => n < 2 ? Says("Needs", " rhyme.") : ExitLoop())));

        var (response, events, broken) = await App.CreateAuthorizedClient().StreamAsync(
            new { messages = new[] { Api.UserMessage("Write me a poem.") }, stream = true });
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(broken);
        Assert.Equal(["lead", "writer", "critic", "writer", "critic"], AgentsCalled());
        // The critic's call to exit_loop says nothing: the last words said are the writer's second draft.
        Assert.Equal("Draft 2.", Heard(events));
        Assert.Equal("stop", FinishReason(events));
        var all = string.Join("\n", events);
        Assert.DoesNotContain("exit_loop", all, StringComparison.Ordinal);
        Assert.DoesNotContain("transfer_to_agent", all, StringComparison.Ordinal);
        Assert.DoesNotContain("tool_calls", all, StringComparison.Ordinal);

        // exit_loop is offered inside the loop only; the orchestrator outside it is offered the transfer alone.
        Assert.Equal(["transfer_to_agent"], FunctionsOffered(Model.Requests[0].Body));
        Assert.All(Model.Requests.Skip(1), r => Assert.Equal(["exit_loop"], FunctionsOffered(r.Body)));
    }

    [Fact]
    public async Task ALoopNobodyExitsRunsItsMaxIterationsAndTheCallerHearsTheLastWordsSaid()
    {
        var rounds = Loop("rounds", 3, "writer", "critic");
        rounds.IsOrchestrator = true;
        await StoreAsync(App, [rounds, LlmAgent("writer"), LlmAgent("critic")]);
        Model.Handler = ByAgent(
            ("writer", Numbered(n => Says("Draft", $" {n}."))),
            ("critic", Numbered(n => Says("Critique", $" {n}."))));

        var answer = await AskAsync();

        // Three rounds of two agents.
        Assert.Equal(["writer", "critic", "writer", "critic", "writer", "critic"], AgentsCalled());
        Assert.Equal("Critique 3.", answer);
        Assert.All(Model.Requests, r => Assert.Equal(["exit_loop"], FunctionsOffered(r.Body)));
    }

    [Fact]
    public async Task TheLastNonEmptyWordsAreHeardWhenTheLastAgentSaysNothing()
    {
        var rounds = Loop("rounds", 2, "writer", "critic");
        rounds.IsOrchestrator = true;
        await StoreAsync(App, [rounds, LlmAgent("writer"), LlmAgent("critic")]);
        Model.Handler = ByAgent(("writer", Numbered(n => Says("Draft", $" {n}."))), ("critic", Says()));

        var answer = await AskAsync();

        Assert.Equal(4, Model.Requests.Count);
        Assert.Equal("Draft 2.", answer);
    }

    [Fact]
    public async Task MaxLlmCallsStopsAnAgentAndEndsTheLoopItIsIn()
    {
        var rounds = Loop("rounds", 5, "worker");
        rounds.IsOrchestrator = true;
        var worker = LlmAgent("worker");
        worker.MaxLlmCalls = 2;
        await StoreAsync(App, [rounds, worker]);
        Model.Handler = ByAgent(("worker", Numbered(n => Says("Try", $" {n}."))));

        var answer = await AskAsync();

        // Five rounds allowed, two calls allowed: two calls made.
        Assert.Equal(["worker", "worker"], AgentsCalled());
        Assert.Equal("Try 2.", answer);
    }

    [Fact]
    public async Task AnAgentAtItsMaxLlmCallsEndsTheLoopBeforeTheAgentsAfterIt()
    {
        // The worker may call its model twice; on the third round it says nothing and the loop ends, the checker unheard.
        var rounds = Loop("rounds", 5, "worker", "checker");
        rounds.IsOrchestrator = true;
        var worker = LlmAgent("worker");
        worker.MaxLlmCalls = 2;
        await StoreAsync(App, [rounds, worker, LlmAgent("checker")]);
        Model.Handler = ByAgent(
            ("worker", Numbered(n => Says("Try", $" {n}."))),
            ("checker", Numbered(n => Says("Check", $" {n}."))));

        var answer = await AskAsync();

        Assert.Equal(["worker", "checker", "worker", "checker"], AgentsCalled());
        Assert.Equal("Check 2.", answer);
    }

    [Fact]
    public async Task MaxLlmCallsCountsEveryCallOfTheTurnButNotOfTheTurnsBefore()
    {
        // The limit is per turn: a second request starts again from none.
        var rounds = Loop("rounds", 5, "worker");
        rounds.IsOrchestrator = true;
        var worker = LlmAgent("worker");
        worker.MaxLlmCalls = 3;
        await StoreAsync(App, [rounds, worker]);
        Model.Handler = ByAgent(("worker", Numbered(n => Says("Try", $" {n}."))));

        var first = await AskAsync();
        var second = await AskAsync();

        Assert.Equal(6, Model.Requests.Count);
        Assert.Equal(("Try 3.", "Try 6."), (first, second));
    }
}
