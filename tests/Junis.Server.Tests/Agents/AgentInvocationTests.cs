using System.Net;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json.Nodes;
using Junis.Server.ChatCompletions;
using Junis.Server.Tests.Infrastructure;
using OpenAI.Chat;
using static Junis.Server.Tests.Agents.AgentScripts;
using static Junis.Server.Tests.Agents.DirectInvocation;

namespace Junis.Server.Tests.Agents;

/// <summary>
/// One agent invoked directly, as Junis lets a caller: at <c>/api/external/agents/{id}/completions</c>, and by an OpenAI SDK
/// whose base URL is the agent's. The agent answers with its own instruction, whoever the organization's orchestrator is.
/// Over real HTTP, against a scripted model server, on each engine.
/// </summary>
public abstract class AgentInvocationTests(Engine engine) : ScriptedAgentsTests(engine)
{
    public sealed class OnSqlite() : AgentInvocationTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : AgentInvocationTests(Engine.PostgreSql);

    private static readonly string[] Words = ["Your", " invoice", " is", " paid."];

    [Fact]
    public async Task TheOfficialSdkWhoseBaseUrlIsTheAgentsIsAnsweredByItWholeAndStreamed()
    {
        var ids = await StoreAsync(App, [LlmAgent("billing")]);
        Model.Handler = ByAgent(("billing", Says(Words)));
        var chat = OfficialClient.Agent(App, ids["billing"]);

        var whole = (await chat.CompleteChatAsync([new UserChatMessage("Was I charged twice?")])).Value;
        var updates = new List<StreamingChatCompletionUpdate>();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("And this month?")]))
            updates.Add(update);

        Assert.Equal("Your invoice is paid.", whole.Content.Single().Text);
        Assert.Equal("billing", whole.Model);
        Assert.Equal(Words, updates.SelectMany(u => u.ContentUpdate).Select(p => p.Text).Where(t => t.Length > 0));
        Assert.All(updates, u => Assert.Equal("billing", u.Model));
        Assert.Equal(ChatFinishReason.Stop, updates.Last(u => u.FinishReason is not null).FinishReason);
        Assert.Equal(2, Model.Requests.Count);
        Assert.All(Model.Requests, request =>
        {
            var first = request.Body["messages"]!.AsArray()[0]!;
            Assert.Equal(("system", "You are billing."), ((string?)first["role"], (string?)first["content"]));
        });
        Assert.Equal(["Was I charged twice?", "And this month?"], Model.Requests.Select(r => (string?)r.Body["messages"]!.AsArray()[^1]!["content"]));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task JunissPathAnswersAsTheAgentAndKeepsTheTurnInItsSession(bool streamed)
    {
        var ids = await StoreAsync(App, [LlmAgent("billing")]);
        Model.Handler = ByAgent(("billing", Says(Words)));
        var client = App.CreateAuthorizedClient();

        var answer = await PostAsync(client, PathOf(ids["billing"]), "Was I charged twice?", streamed);
        using var stored = await client.GetAsync($"/api/external/sessions/{answer.Session}/messages");
        var messages = (await stored.ReadJsonAsync())["messages"]!.AsArray();

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal(streamed, answer.Streamed);
        Assert.Equal("Your invoice is paid.", answer.Text);
        Assert.Equal(["billing"], answer.Models.Distinct());
        Assert.Equal("stop", answer.FinishReason);
        if (streamed)
            Assert.Equal("[DONE]", answer.Events[^1]);
        Assert.True(Guid.TryParse(answer.Session, out _), $"{ChatCompletionsApi.SessionHeader}: {answer.Session}");
        Assert.Equal(HttpStatusCode.OK, stored.StatusCode);
        Assert.Equal([("user", "Was I charged twice?"), ("assistant", "Your invoice is paid.")],
            messages.Select(m => ((string?)m!["role"], (string?)m!["content"])));
        Assert.Equal("You are billing.", Instruction(Assert.Single(Model.Requests).Body));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AnInvokedAgentHandsOverToItsSubAgentOutOfTheClientsSight(bool streamed)
    {
        var ids = await StoreAsync(App, [LlmAgent("billing", "refunds"), LlmAgent("refunds")]);
        Model.Handler = ByAgent(("billing", Transfer("refunds")), ("refunds", Says("Refunded", " today.")));

        var answer = await PostAsync(App.CreateAuthorizedClient(), PathOf(ids["billing"]), "Refund me.", streamed);

        Assert.Equal(HttpStatusCode.OK, answer.Status);
        Assert.Equal("Refunded today.", answer.Text);
        Assert.False(answer.HasToolCalls, answer.Raw);
        Assert.DoesNotContain("transfer_to_agent", answer.Raw);
        Assert.Equal("stop", answer.FinishReason);
        Assert.Equal(["You are billing.", "You are refunds."], Model.Requests.Select(r => Instruction(r.Body)));
        Assert.True(Offers(Model.Requests[0].Body, "transfer_to_agent"));
        Assert.Equal("Refund me.", (string?)Model.Requests[1].Body["messages"]!.AsArray()[^1]!["content"]);
    }

    [Fact]
    public async Task TheOrganizationsOrchestratorDoesNotAnswerForAnAgentInvokedDirectly()
    {
        var support = LlmAgent("support", "billing");
        support.IsOrchestrator = true;
        var ids = await StoreAsync(App, [support, LlmAgent("billing")]);
        Model.Handler = ByAgent(("support", Says("Support", " here.")), ("billing", Says(Words)));
        var client = App.CreateAuthorizedClient();

        var direct = await PostAsync(client, PathOf(ids["billing"]), "Was I charged twice?");
        // The same organization's chat completions still go to its orchestrator.
        var orchestrated = await PostAsync(client, Api.Completions, "Was I charged twice?");

        Assert.Equal((HttpStatusCode.OK, "Your invoice is paid."), (direct.Status, direct.Text));
        Assert.Equal(["billing"], direct.Models);
        Assert.Equal((HttpStatusCode.OK, "Support here."), (orchestrated.Status, orchestrated.Text));
        Assert.Equal(["You are billing.", "You are support."], Model.Requests.Select(r => Instruction(r.Body)));
        Assert.False(Offers(Model.Requests[0].Body, "transfer_to_agent"));
    }
}

/// <summary>Calls on an agent invoked directly, and what came back, whole or streamed.</summary>
internal static class DirectInvocation
{
    public static string PathOf(object id, string tail = "completions") => $"/api/external/agents/{id}/{tail}";

    public static async Task<InvocationAnswer> PostAsync(HttpClient client, string path, string text, bool streamed = false)
    {
        using var response = await client.PostAsync(path, Api.Json(new { messages = new[] { Api.UserMessage(text) }, stream = streamed }));
        var raw = await response.Content.ReadAsStringAsync();
        var events = new List<string>();
        if (response.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            await foreach (var item in SseParser.Create(new MemoryStream(Encoding.UTF8.GetBytes(raw))).EnumerateAsync())
                events.Add(item.Data);
        }
        var session = response.Headers.TryGetValues(ChatCompletionsApi.SessionHeader, out var values) ? values.Single() : null;
        return new InvocationAnswer(response.StatusCode, session, raw, events);
    }
}

internal sealed record InvocationAnswer(HttpStatusCode Status, string? Session, string Raw, List<string> Events)
{
    public bool Streamed => Events.Count > 0;

    public JsonNode Body => JsonNode.Parse(Raw)!;

    public JsonObject Error => Body["error"]!.AsObject();

    private List<JsonNode> Choices => Streamed
        ? [.. Events.Chunks().SelectMany(c => c["choices"]!.AsArray()).Select(c => c!)]
        : [.. Body["choices"]!.AsArray().Select(c => c!)];

    public string Text => Streamed
        ? string.Concat(Choices.Select(c => (string?)c["delta"]!["content"]))
        : (string)Choices.Single()["message"]!["content"]!;

    public List<string?> Models => Streamed ? [.. Events.Chunks().Select(c => (string?)c["model"])] : [(string?)Body["model"]];

    public string? FinishReason => Choices.Select(c => (string?)c["finish_reason"]).LastOrDefault(f => f is not null);

    public bool HasToolCalls => Choices.Any(c => (c["delta"] ?? c["message"])!["tool_calls"] is not null);
}
