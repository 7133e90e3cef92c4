using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Agents;
using Junis.Server.Tests.Infrastructure;
using static Junis.Server.Tests.Agents.AgentScripts;

namespace Junis.Server.Tests.Agents;

/// <summary>
/// A <c>SEQUENTIAL_AGENT</c> as the orchestrator, on each database engine: its sub-agents one after another, each
/// one's output passed to the next through its output key, and only the last one heard by the caller.
/// </summary>
public abstract class SequentialAgentTests(Engine engine) : ScriptedAgentsTests(engine)
{
    public sealed class OnSqlite() : SequentialAgentTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : SequentialAgentTests(Engine.PostgreSql);

    private const string DraftersWords = "Rough draft about the tides.";

    /// <summary><c>pipeline</c> → <c>drafter</c> (output key <c>draft</c>) → <c>editor</c>, whose instruction names <c>{draft}</c>.</summary>
    private Task StorePipelineAsync()
    {
        var pipeline = WorkflowAgent("pipeline", AgentTypes.Sequential, "drafter", "editor");
        pipeline.IsOrchestrator = true;
        var drafter = LlmAgent("drafter");
        drafter.OutputKey = "draft";
        var editor = LlmAgent("editor");
        editor.Instruction = "You are editor. Polish this draft: <<{draft}>>";
        return StoreAsync(App, [pipeline, drafter, editor]);
    }

    private void AssertTheEditorWasGivenTheDraft()
    {
        Assert.Equal(["drafter", "editor"], Model.Requests.Select(r => AgentOf(r.Body)));
        var toDrafter = Model.Requests[0].Body;
        Assert.Equal(["You are drafter."], SystemMessages(toDrafter));
        var toEditor = Model.Requests[1].Body;
        Assert.Equal([$"You are editor. Polish this draft: <<{DraftersWords}>>"], SystemMessages(toEditor));
        foreach (var request in new[] { toDrafter, toEditor })
            Assert.Equal("Write about the sea.", (string?)request["messages"]!.AsArray()[^1]!["content"]);
    }

    [Fact]
    public async Task TheEditorIsGivenTheDraftAndOnlyItsWordsStreamToTheCallerAsTheyAreSaid()
    {
        await StorePipelineAsync();
        // The editor says its first word, then holds the rest until the caller has heard that word (5 s at most):
        // a sequence that kept its last agent's words until the end would make the caller wait those 5 s.
        var heardFirstWord = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var heldUntilHeard = false;
        Model.Handler = ByAgent(
            ("drafter", Says("Rough", " draft", " about", " the", " tides.")),
            ("editor", async (context, body) =>
            {
                context.Response.ContentType = "text/event-stream";
                await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null));
                await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["content"] = "Polished" }, null));
                heldUntilHeard = await Task.WhenAny(heardFirstWord.Task, Task.Delay(TimeSpan.FromSeconds(5), context.RequestAborted)) == heardFirstWord.Task;
                await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["content"] = " prose" }, null));
                await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject { ["content"] = " of the sea." }, null));
                await FakeOpenAIServer.WriteEventAsync(context, FakeOpenAIServer.Chunk(new JsonObject(), "stop"));
                await FakeOpenAIServer.WriteEventAsync(context, "[DONE]");
            }));

        var (response, events, broken) = await App.CreateAuthorizedClient().StreamAsync(
            new { messages = new[] { Api.UserMessage("Write about the sea.") }, stream = true },
            data =>
            {
                if (data.Contains("Polished", StringComparison.Ordinal))
                    heardFirstWord.TrySetResult();
            });
        using var _ = response;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(broken);
        Assert.Equal("Polished prose of the sea.", Heard(events));
        Assert.True(heldUntilHeard, "The caller heard the editor's first word only after the editor had finished.");
        Assert.Equal("stop", FinishReason(events));
        foreach (var word in new[] { "Rough", "draft", "tides" })
            Assert.DoesNotContain(word, string.Join("\n", events), StringComparison.Ordinal);
        AssertTheEditorWasGivenTheDraft();
    }

    [Fact]
    public async Task AWholeAnswerIsTheEditorsAloneAndItsUsageSumsBothCalls()
    {
        await StorePipelineAsync();
        Model.Handler = ByAgent(
            ("drafter", Says("Rough", " draft", " about", " the", " tides.")),
            ("editor", Says("Polished", " prose", " of the sea.")));

        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("Write about the sea.") } });
        var text = await response.Content.ReadAsStringAsync();
        var body = JsonNode.Parse(text)!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Polished prose of the sea.", (string?)body["choices"]![0]!["message"]!["content"]);
        Assert.Equal("stop", (string?)body["choices"]![0]!["finish_reason"]);
        foreach (var word in new[] { "Rough", "draft", "tides" })
            Assert.DoesNotContain(word, text, StringComparison.Ordinal);
        // The drafter's 9 + 5 and the editor's 9 + 3, as the model server reported them.
        Assert.Equal((18, 8, 26), ((int)body["usage"]!["prompt_tokens"]!, (int)body["usage"]!["completion_tokens"]!, (int)body["usage"]!["total_tokens"]!));
        AssertTheEditorWasGivenTheDraft();
    }

    [Fact]
    public async Task AnOutputNotYetProducedIsEmptyAndOneProducedFillsEveryPlaceItIsNamed()
    {
        // The drafter names its own key, which nothing has produced before it speaks; the editor names it twice.
        var pipeline = WorkflowAgent("pipeline", AgentTypes.Sequential, "drafter", "editor");
        pipeline.IsOrchestrator = true;
        var drafter = LlmAgent("drafter");
        drafter.OutputKey = "draft";
        drafter.Instruction = "You are drafter. Earlier draft: [{draft}]";
        var editor = LlmAgent("editor");
        editor.Instruction = "You are editor. First {draft}, again {draft}; unknown {nothing}.";
        await StoreAsync(App, [pipeline, drafter, editor]);
        Model.Handler = ByAgent(("drafter", Says("D1")), ("editor", Says("Done.")));

        using var response = await App.CreateAuthorizedClient().PostCompletionAsync(new { messages = new[] { Api.UserMessage("Write about the sea.") } });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Done.", (string?)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]);
        Assert.Equal(["You are drafter. Earlier draft: []"], SystemMessages(Model.Requests[0].Body));
        Assert.Equal(["You are editor. First D1, again D1; unknown {nothing}."], SystemMessages(Model.Requests[1].Body));
    }
}
