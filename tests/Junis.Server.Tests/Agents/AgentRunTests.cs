using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Agents;
using Junis.Server.Tests.Infrastructure;
using static Junis.Server.Tests.Agents.AgentScripts;

namespace Junis.Server.Tests.Agents;

/// <summary>An organization's orchestrator answering its chat completions, over real HTTP, against a scripted model server.</summary>
public sealed class AgentRunTests : ScriptedAgentsTests
{

    [Fact]
    public async Task TheOrchestratorHandsOverAndTheSubAgentsWordsStreamWithoutTheTransfer()
    {
        var support = LlmAgent("support", "billing");
        support.IsOrchestrator = true;
        await StoreAsync(App, [support, LlmAgent("billing")]);
        Model.Handler = ByAgent(("support", Transfer("billing")), ("billing", Says("Your", " invoice", " is", " paid.")));

        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(new
        {
            messages = new[] { Api.UserMessage("Was I charged twice?") }, stream = true, stream_options = new { include_usage = true },
        });
        var events = await response.ReadEventsAsync();
        var chunks = events.Chunks();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Your invoice is paid.", string.Concat(chunks.Where(c => c["choices"]!.AsArray().Count > 0)
            .Select(c => (string?)c["choices"]![0]!["delta"]!["content"])));
        Assert.DoesNotContain("transfer_to_agent", string.Join("\n", events));
        Assert.DoesNotContain(chunks, c => c["choices"]!.AsArray().Count > 0 && c["choices"]![0]!["delta"]!["tool_calls"] is not null);
        Assert.Equal("stop", (string?)chunks.Last(c => c["choices"]!.AsArray().Count > 0)["choices"]![0]!["finish_reason"]);
        // Both calls' usage: the streamed transfer reports none, so it is counted, beside the answer's reported 9 + 4.
        Assert.True((int)chunks[^1]["usage"]!["prompt_tokens"]! > 9);
        Assert.True((int)chunks[^1]["usage"]!["completion_tokens"]! > 4);

        Assert.Equal(2, Model.Requests.Count);
        var toSupport = Model.Requests[0].Body;
        Assert.Equal("You are support.", Instruction(toSupport));
        var transfer = toSupport["tools"]!.AsArray().Single()!["function"]!;
        Assert.Equal("transfer_to_agent", (string?)transfer["name"]);
        Assert.Equal(["billing"], transfer["parameters"]!["properties"]!["agent_name"]!["enum"]!.AsArray().Select(n => (string)n!));
        var toBilling = Model.Requests[1].Body;
        Assert.Equal("You are billing.", Instruction(toBilling));
        Assert.Null(toBilling["tools"]);
        Assert.Equal("Was I charged twice?", (string?)toBilling["messages"]!.AsArray()[^1]!["content"]);
    }

    [Fact]
    public async Task AWholeAnswerIsTheSubAgentsAndItsUsageSumsEveryModelCall()
    {
        var support = LlmAgent("support", "billing");
        support.IsOrchestrator = true;
        await StoreAsync(App, [support, LlmAgent("billing")]);
        Model.Handler = ByAgent(("support", Transfer("billing")), ("billing", Says("Your", " invoice", " is", " paid.")));

        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("Was I charged twice?") } });
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var message = body["choices"]![0]!["message"]!;
        Assert.Equal("Your invoice is paid.", (string?)message["content"]);
        Assert.Null(message["tool_calls"]);
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
        // The transfer's 20 + 10 and the answer's 9 + 4, as the model server reported them.
        Assert.Equal(29, (int)body["usage"]!["prompt_tokens"]!);
        Assert.Equal(14, (int)body["usage"]!["completion_tokens"]!);
        Assert.Equal(43, (int)body["usage"]!["total_tokens"]!);
    }

    [Fact]
    public async Task TheSessionKeepsWhichAgentRepliedAndTheTransferTheCallerDidNotSee()
    {
        var support = LlmAgent("support", "billing");
        support.IsOrchestrator = true;
        await StoreAsync(App, [support, LlmAgent("billing")]);
        Model.Handler = ByAgent(("support", Transfer("billing")), ("billing", Says("Your", " invoice", " is", " paid.")));
        var client = App.CreateAuthorizedClient();

        using var response = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage("Was I charged twice?") }, stream = true });
        await response.ReadEventsAsync();
        using var stored = await client.GetAsync($"/api/external/sessions/{response.Headers.GetValues("X-Session-Id").Single()}/messages");
        var messages = (await stored.ReadJsonAsync())["messages"]!.AsArray();

        Assert.Equal(2, messages.Count);
        Assert.Null(messages[0]!["agent"]);
        var reply = messages[1]!;
        Assert.Equal("Your invoice is paid.", (string?)reply["content"]);
        Assert.Null(reply["tool_calls"]);
        Assert.Equal("billing", (string?)reply["agent"]);
        var steps = reply["agent_steps"]!.AsArray();
        Assert.Equal(["support", "billing"], steps.Select(s => (string)s!["agent"]!));
        var transfer = steps[0]!["tool_calls"]!.AsArray().Single()!;
        Assert.Equal("call_transfer", (string?)transfer["id"]);
        Assert.Equal("transfer_to_agent", (string?)transfer["function"]!["name"]);
        Assert.Equal("{\"agent_name\":\"billing\"}", (string?)transfer["function"]!["arguments"]);
        Assert.Equal("Your invoice is paid.", (string?)steps[1]!["content"]);
    }
}

/// <summary>Agents on the zero-configuration model, Echo, which hands over to the agent a user names: the README's example.</summary>
public sealed class EchoAgentTests : IDisposable
{
    private readonly JunisApp App = new();

    public void Dispose() => App.Dispose();

    [Theory]
    [InlineData("I have a billing question", "billing")]
    [InlineData("Hello there", "support")]
    public async Task EchoHandsOverOnlyWhenTheUserNamesTheAgent(string question, string answeredBy)
    {
        var support = LlmAgent("support", "billing");
        support.IsOrchestrator = true;
        await StoreAsync(App, [support, LlmAgent("billing")]);
        var client = App.CreateAuthorizedClient();

        using var response = await client.PostCompletionAsync(new { messages = new[] { Api.UserMessage(question) } });
        var body = await response.ReadJsonAsync();
        using var stored = await client.GetAsync($"/api/external/sessions/{response.Headers.GetValues("X-Session-Id").Single()}/messages");
        var reply = (await stored.ReadJsonAsync())["messages"]!.AsArray()[^1]!;

        Assert.Equal("Echo: " + question, (string?)body["choices"]![0]!["message"]!["content"]);
        Assert.Null(body["choices"]![0]!["message"]!["tool_calls"]);
        Assert.Equal(answeredBy, (string?)reply["agent"]);
        Assert.Equal(answeredBy == "billing" ? 2 : 1, reply["agent_steps"]!.AsArray().Count);
    }
}
