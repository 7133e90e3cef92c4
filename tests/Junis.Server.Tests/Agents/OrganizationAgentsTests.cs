using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Agents;
using Junis.Server.Auth;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using static Junis.Server.Tests.Agents.AgentScripts;

namespace Junis.Server.Tests.Agents;

/// <summary>
/// Each organization answered by its own orchestrator, on each database engine: its instruction and nobody else's,
/// the server's own prompt for an organization without one, and agents changed under a running server.
/// </summary>
public abstract class OrganizationAgentsTests(Engine engine) : ScriptedAgentsTests(engine)
{
    public sealed class OnSqlite() : OrganizationAgentsTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : OrganizationAgentsTests(Engine.PostgreSql);

    private const string ServerPrompt = "You are Junis, the server's own assistant.";

    protected override void Configure(Dictionary<string, string?> settings) =>
        settings["Junis:Orchestrator:SystemPrompt"] = ServerPrompt;

    private static Agent Orchestrator(string name, string instruction, params string[] subAgents)
    {
        var agent = LlmAgent(name, subAgents);
        agent.Instruction = instruction;
        agent.IsOrchestrator = true;
        return agent;
    }

    /// <summary>Asks as <paramref name="key"/>'s organization; the body of the model request it made.</summary>
    private async Task<JsonObject> AskAsync(string key, string question)
    {
        var before = Model.Requests.Count;
        using var response = await App.CreateAuthorizedClient(key).PostCompletionAsync(new { messages = new[] { Api.UserMessage(question) } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Hello from the model", (string?)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]);
        Assert.Equal(before + 1, Model.Requests.Count);
        return Model.Requests[^1].Body;
    }

    [Fact]
    public async Task EachOrganizationsCallsCarryItsOwnInstructionOnlyAndOneWithoutAgentsIsAnsweredAsBefore()
    {
        var globex = await App.CreateKeyAsync("globex");
        var initech = await App.CreateKeyAsync("initech");
        // What an organization without agents sent before any organization had agents.
        var asBefore = await AskAsync(initech, "What can you do?");

        // Both orchestrators share a name; each organization's own is the one that answers it.
        await StoreAsync(App, [Orchestrator("front", "Answer for Acme only."), LlmAgent("acme-helper")]);
        await StoreAsync(App, [Orchestrator("front", "Answer for Globex only.")], "globex");
        var acme = await AskAsync(JunisApp.Key, "Who are you?");
        var globexs = await AskAsync(globex, "Who are you?");
        var initechs = await AskAsync(initech, "What can you do?");

        Assert.Equal(["Answer for Acme only."], SystemMessages(acme));
        Assert.Equal(["Answer for Globex only."], SystemMessages(globexs));
        var (acmeJson, globexJson, initechJson) = (acme.ToJsonString(), globexs.ToJsonString(), initechs.ToJsonString());
        Assert.DoesNotContain("Globex", acmeJson, StringComparison.Ordinal);
        Assert.DoesNotContain("Acme", globexJson, StringComparison.Ordinal);
        foreach (var json in new[] { acmeJson, globexJson })
            Assert.DoesNotContain(ServerPrompt, json, StringComparison.Ordinal);
        // An orchestrator without a model of its own uses the provider's; without sub-agents it is offered nothing.
        Assert.Equal(("fake-model", "fake-model"), ((string?)acme["model"], (string?)globexs["model"]));
        Assert.Null(acme["tools"]);

        // The organization without agents: the server's prompt and model, the very request it made before.
        Assert.Equal([ServerPrompt], SystemMessages(initechs));
        Assert.Equal("fake-model", (string?)initechs["model"]);
        Assert.DoesNotContain("Acme", initechJson, StringComparison.Ordinal);
        Assert.DoesNotContain("Globex", initechJson, StringComparison.Ordinal);
        Assert.True(JsonNode.DeepEquals(asBefore, initechs), $"Before: {asBefore.ToJsonString()}\nAfter: {initechJson}");
    }

    [Fact]
    public async Task AnOrganizationWhoseOrchestratorIsInactiveIsAnsweredByTheServersPrompt()
    {
        var retired = Orchestrator("front", "Answer for Acme only.");
        retired.IsActive = false;
        await StoreAsync(App, [retired, LlmAgent("helper")]);

        var request = await AskAsync(JunisApp.Key, "Who are you?");

        Assert.Equal([ServerPrompt], SystemMessages(request));
        Assert.Null(request["tools"]);
    }

    [Fact]
    public async Task ARunningServerSeesAnOrchestratorAddedAndRetiredWithinASecond()
    {
        Assert.Equal([ServerPrompt], SystemMessages(await AskAsync(JunisApp.Key, "Hello?")));

        // Written as another process would write it: straight to the database, nobody telling the server.
        var added = await App.QueryAsync(async db =>
        {
            var org = await db.Organizations.SingleAsync(o => o.Name == BootstrapKey.OrganizationName);
            var agent = Orchestrator("front", "Answer for Acme only.");
            agent.OrganizationId = org.Id;
            agent.CreatedAt = agent.UpdatedAt = DateTime.UtcNow;
            db.Agents.Add(agent);
            await db.SaveChangesAsync();
            return agent.Id;
        });
        var addedAfter = await TimeUntilAnsweredWithAsync("Answer for Acme only.");

        await App.QueryAsync(async db =>
        {
            var agent = await db.Agents.SingleAsync(a => a.Id == added);
            agent.IsActive = false;
            agent.UpdatedAt = DateTime.UtcNow;
            return await db.SaveChangesAsync();
        });
        var retiredAfter = await TimeUntilAnsweredWithAsync(ServerPrompt);

        // The directory looks four times a second: well within a second, with room for a slow machine.
        Assert.True(addedAfter < TimeSpan.FromSeconds(1.5), $"The new orchestrator answered only after {addedAfter}.");
        Assert.True(retiredAfter < TimeSpan.FromSeconds(1.5), $"The retired orchestrator answered until {retiredAfter}.");
    }

    /// <summary>Asks every 50 ms until the model is sent <paramref name="systemPrompt"/> (3 s at most): how long that took.</summary>
    private async Task<TimeSpan> TimeUntilAnsweredWithAsync(string systemPrompt)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(3))
        {
            if (SystemMessages(await AskAsync(JunisApp.Key, "Hello?")).SequenceEqual([systemPrompt]))
                return watch.Elapsed;
            await Task.Delay(50);
        }
        return TimeSpan.MaxValue;
    }
}
