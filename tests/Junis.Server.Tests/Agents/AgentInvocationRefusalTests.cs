using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Agents;
using Junis.Server.Auth;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static Junis.Server.Tests.Agents.AgentScripts;
using static Junis.Server.Tests.Agents.DirectInvocation;

namespace Junis.Server.Tests.Agents;

/// <summary>
/// The agents a caller cannot invoke directly, and the keys that cannot invoke one: refused before the model is called
/// or a session is begun. Over real HTTP, against a scripted model server, on each engine.
/// </summary>
public abstract class AgentInvocationRefusalTests(Engine engine) : ScriptedAgentsTests(engine)
{
    public sealed class OnSqlite() : AgentInvocationRefusalTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : AgentInvocationRefusalTests(Engine.PostgreSql);

    /// <summary>The model was never called, and no session or message was stored.</summary>
    private async Task AssertNothingRanAsync()
    {
        Assert.Empty(Model.Requests);
        Assert.Equal((0, 0), await App.QueryAsync(async db => (await db.Sessions.CountAsync(), await db.SessionMessages.CountAsync())));
    }

    [Theory]
    [InlineData(AgentTypes.Sequential)]
    [InlineData(AgentTypes.Parallel)]
    [InlineData(AgentTypes.Loop)]
    public async Task AWorkflowAgentIsRefusedAsNotAnLlmAgent(string type)
    {
        var ids = await StoreAsync(App, [LlmAgent("billing"), WorkflowAgent("pipeline", type, "billing")]);
        var client = App.CreateAuthorizedClient();

        var answers = new[]
        {
            await PostAsync(client, PathOf(ids["pipeline"]), "Run the pipeline."),
            await PostAsync(client, PathOf(ids["pipeline"], "chat/completions"), "Run the pipeline.", streamed: true),
        };

        Assert.All(answers, answer =>
        {
            Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
            Assert.Equal("invalid_request_error", (string?)answer.Error["type"]);
            Assert.Contains("LLM_AGENT", (string?)answer.Error["message"]);
            Assert.Null(answer.Session);
        });
        await AssertNothingRanAsync();
    }

    [Fact]
    public async Task AnInactiveAgentIsRefused()
    {
        var retired = LlmAgent("retired");
        retired.IsActive = false;
        var ids = await StoreAsync(App, [retired]);
        var client = App.CreateAuthorizedClient();

        var answers = new[]
        {
            await PostAsync(client, PathOf(ids["retired"]), "Hello?"),
            await PostAsync(client, PathOf(ids["retired"], "chat/completions"), "Hello?", streamed: true),
        };

        Assert.All(answers, answer =>
        {
            Assert.Equal(HttpStatusCode.BadRequest, answer.Status);
            Assert.Equal("invalid_request_error", (string?)answer.Error["type"]);
            Assert.Null(answer.Session);
        });
        await AssertNothingRanAsync();
    }

    [Fact]
    public async Task AnotherOrganizationsAgentIsAsUnknownAsARandomIdOrNotAnId()
    {
        var theirs = await StoreAsync(App, [LlmAgent("billing")], organization: "globex");
        await StoreAsync(App, [LlmAgent("billing")]);
        var client = App.CreateAuthorizedClient();
        string[] unknown = [theirs["billing"].ToString(), Guid.NewGuid().ToString(), "not-a-guid"];

        var shapes = new List<JsonNode>();
        foreach (var id in unknown)
        {
            foreach (var (tail, streamed) in new[] { ("completions", false), ("chat/completions", true) })
            {
                var answer = await PostAsync(client, PathOf(id, tail), "Show me globex's invoices.", streamed);
                Assert.Equal(HttpStatusCode.NotFound, answer.Status);
                Assert.Null(answer.Session);
                // The body, with the id it names made general: the same for every id the caller cannot invoke.
                var shape = answer.Error.DeepClone();
                shape["message"] = ((string)shape["message"]!).Replace(id, "{id}", StringComparison.Ordinal);
                shapes.Add(shape);
            }
        }

        Assert.Equal(("not_found_error", "not_found"), ((string?)shapes[0]["type"], (string?)shapes[0]["code"]));
        Assert.Equal(["message", "type", "param", "code"], shapes[0].AsObject().Select(p => p.Key));
        Assert.All(shapes, shape => Assert.True(JsonNode.DeepEquals(shapes[0], shape), $"{shapes[0].ToJsonString()}\n{shape.ToJsonString()}"));
        await AssertNothingRanAsync();
    }

    [Fact]
    public async Task AKeyWithoutAgentsInvokeIsForbiddenTheAgentButNotTheOrganizationsChat()
    {
        var ids = await StoreAsync(App, [LlmAgent("billing")]);
        var key = await App.CreateKeyAsync(BootstrapKey.OrganizationName, Scopes.Invoke, Scopes.Stream);
        var client = App.CreateAuthorizedClient(key);

        var answers = new[]
        {
            await PostAsync(client, PathOf(ids["billing"]), "Was I charged twice?"),
            await PostAsync(client, PathOf(ids["billing"], "chat/completions"), "Was I charged twice?", streamed: true),
        };

        Assert.All(answers, answer =>
        {
            Assert.Equal(HttpStatusCode.Forbidden, answer.Status);
            Assert.Equal(("permission_error", "insufficient_scope"), ((string?)answer.Error["type"], (string?)answer.Error["code"]));
            Assert.Contains(Scopes.AgentsInvoke, (string?)answer.Error["message"]);
            Assert.Null(answer.Session);
        });
        await AssertNothingRanAsync();
        // The key itself is good: its own scopes let it through.
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(client, Api.Completions, "Was I charged twice?", streamed: true)).Status);
    }

    [Fact]
    public async Task AKeyWithOnlyAgentsInvokeInvokesTheAgentWholeAndStreamedButNotTheOrganizationsChat()
    {
        var ids = await StoreAsync(App, [LlmAgent("billing")]);
        Model.Handler = ByAgent(("billing", Says("Your", " invoice", " is", " paid.")));
        var key = await App.CreateKeyAsync(BootstrapKey.OrganizationName, Scopes.AgentsInvoke);
        var client = App.CreateAuthorizedClient(key);

        var whole = await PostAsync(client, PathOf(ids["billing"]), "Was I charged twice?");
        var streamed = await PostAsync(client, PathOf(ids["billing"]), "And this month?", streamed: true);
        var chat = await PostAsync(client, Api.Completions, "Was I charged twice?");
        var chatStreamed = await PostAsync(client, Api.Completions, "And this month?", streamed: true);

        Assert.Equal((HttpStatusCode.OK, "Your invoice is paid."), (whole.Status, whole.Text));
        Assert.Equal((HttpStatusCode.OK, true, "Your invoice is paid."), (streamed.Status, streamed.Streamed, streamed.Text));
        Assert.Equal("[DONE]", streamed.Events[^1]);
        Assert.Equal((HttpStatusCode.Forbidden, "insufficient_scope"), (chat.Status, (string?)chat.Error["code"]));
        Assert.Contains(Scopes.Invoke, (string?)chat.Error["message"]);
        Assert.Equal((HttpStatusCode.Forbidden, "insufficient_scope"), (chatStreamed.Status, (string?)chatStreamed.Error["code"]));
        Assert.Contains(Scopes.Stream, (string?)chatStreamed.Error["message"]);
        Assert.Equal(2, Model.Requests.Count);
    }
}
