using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Agents;
using Junis.Server.Auth;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Tests.Agents;

/// <summary>The Agents API as a client sees it: the caller's organization's agents, listed, filtered, paged and shown.</summary>
public abstract class AgentsApiTests(Engine engine) : IDisposable
{
    public sealed class OnSqlite() : AgentsApiTests(Engine.Sqlite);

    public sealed class OnPostgreSql() : AgentsApiTests(Engine.PostgreSql);

    private const string Agents = "/api/external/agents";
    private readonly JunisApp _app = new(engine: engine);

    public void Dispose() => _app.Dispose();

    /// <summary>The default organization's agents (the bootstrap key's), and one of another organization, stored directly.</summary>
    private async Task<Dictionary<string, Guid>> SeedAsync() => await _app.QueryAsync(async db =>
    {
        var own = (await db.Organizations.SingleAsync(o => o.Name == BootstrapKey.OrganizationName)).Id;
        var other = db.Organizations.Add(new Organization { Name = "globex", CreatedAt = DateTime.UtcNow }).Entity.Id;
        var at = new DateTime(2026, 12, 7, 9, 0, 0, DateTimeKind.Utc);
        Agent Add(Guid organization, string name, string type = AgentTypes.Llm, bool active = true, bool orchestrator = false, params string[] subAgents) =>
            db.Agents.Add(new Agent
            {
                OrganizationId = organization, Name = name, AgentType = type, IsActive = active, IsOrchestrator = orchestrator,
                Instruction = $"You are {name}.", Description = $"The {name} agent", Model = name == "billing" ? "small" : null,
                Temperature = name == "billing" ? 0.2 : null, SubAgents = Agent.SubAgentsOf(subAgents), CreatedAt = at, UpdatedAt = at.AddMinutes(5),
            }).Entity;
        var agents = new[]
        {
            Add(own, "support", orchestrator: true, subAgents: ["billing", "pipeline"]),
            Add(own, "billing"),
            Add(own, "pipeline", AgentTypes.Sequential, subAgents: ["billing"]),
            Add(own, "retired", active: false),
            Add(other, "secret"),
        };
        await db.SaveChangesAsync();
        return agents.ToDictionary(a => a.Name, a => a.Id);
    });

    private async Task<(HttpStatusCode Status, JsonNode Body)> GetAsync(string path, HttpClient? client = null)
    {
        using var response = await (client ?? _app.CreateAuthorizedClient()).GetAsync(path);
        return (response.StatusCode, await response.ReadJsonAsync());
    }

    private static List<string> Names(JsonNode body) => [.. body["agents"]!.AsArray().Select(a => (string)a!["name"]!)];

    [Fact]
    public async Task TheListHoldsTheCallersAgentsByNameInJunissFields()
    {
        var ids = await SeedAsync();

        var (status, body) = await GetAsync(Agents);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(["billing", "pipeline", "retired", "support"], Names(body));
        Assert.Equal((4, 1, 20, false), ((int)body["total"]!, (int)body["page"]!, (int)body["page_size"]!, (bool)body["has_next"]!));
        var support = body["agents"]![3]!;
        Assert.Equal(["id", "name", "description", "agent_type", "is_active", "sub_agents", "is_orchestrator", "created_at", "updated_at"],
            support.AsObject().Select(p => p.Key));
        Assert.Equal(ids["support"].ToString(), (string)support["id"]!);
        Assert.Equal(("LLM_AGENT", true, true), ((string)support["agent_type"]!, (bool)support["is_active"]!, (bool)support["is_orchestrator"]!));
        Assert.Equal(["billing", "pipeline"], support["sub_agents"]!.AsArray().Select(n => (string)n!));
        Assert.Equal(("2026-12-07T09:00:00Z", "2026-12-07T09:05:00Z"), ((string)support["created_at"]!, (string)support["updated_at"]!));
        Assert.Equal("small", (string)body["agents"]![0]!["model"]!);
    }

    [Fact]
    public async Task FiltersAndPagesNarrowTheList()
    {
        await SeedAsync();

        var sequential = await GetAsync($"{Agents}?agent_type=SEQUENTIAL_AGENT");
        var inactive = await GetAsync($"{Agents}?is_active=false");
        var active = await GetAsync($"{Agents}?is_active=true&agent_type=LLM_AGENT");
        var first = await GetAsync($"{Agents}?page_size=3");
        var second = await GetAsync($"{Agents}?page_size=3&page=2");

        Assert.Equal(["pipeline"], Names(sequential.Body));
        Assert.Equal(["retired"], Names(inactive.Body));
        Assert.Equal(["billing", "support"], Names(active.Body));
        Assert.Equal(["billing", "pipeline", "retired"], Names(first.Body));
        Assert.True((bool)first.Body["has_next"]!);
        Assert.Equal(["support"], Names(second.Body));
        Assert.Equal((false, 4), ((bool)second.Body["has_next"]!, (int)second.Body["total"]!));
    }

    [Theory]
    [InlineData("agent_type=TOOL_AGENT", "agent_type")]
    [InlineData("is_active=maybe", "is_active")]
    [InlineData("page=0", "page")]
    [InlineData("page_size=101", "page_size")]
    public async Task ABadQueryIsA400NamingTheParameter(string query, string parameter)
    {
        var (status, body) = await GetAsync($"{Agents}?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(("invalid_request_error", parameter), ((string)body["error"]!["type"]!, (string)body["error"]!["param"]!));
    }

    [Fact]
    public async Task AnAgentIsShownWithWhatItRunsByAndAnotherOrganizationsIsUnknown()
    {
        var ids = await SeedAsync();

        var (status, billing) = await GetAsync($"{Agents}/{ids["billing"]}");
        var secret = await GetAsync($"{Agents}/{ids["secret"]}");
        var nonsense = await GetAsync($"{Agents}/not-an-id");

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("billing", "default", "small", 0.2, "You are billing."),
            ((string)billing["name"]!, (string)billing["provider"]!, (string)billing["model"]!, (double)billing["temperature"]!, (string)billing["instruction"]!));
        Assert.Equal(HttpStatusCode.NotFound, secret.Status);
        Assert.Equal(HttpStatusCode.NotFound, nonsense.Status);
    }

    [Fact]
    public async Task ListingNeedsTheAgentsListScopeWhichNewKeysHave()
    {
        await SeedAsync();
        var without = _app.CreateAuthorizedClient(await _app.CreateKeyAsync(BootstrapKey.OrganizationName, [.. Scopes.All.Where(s => s != Scopes.AgentsList)]));
        var withDefaults = _app.CreateAuthorizedClient(await _app.CreateKeyAsync(BootstrapKey.OrganizationName));

        var (refused, body) = await GetAsync(Agents, without);
        var (allowed, _) = await GetAsync(Agents, withDefaults);

        Assert.Equal(HttpStatusCode.Forbidden, refused);
        Assert.Contains(Scopes.AgentsList, (string)body["error"]!["message"]!);
        Assert.Equal(HttpStatusCode.OK, allowed);
        Assert.Contains(Scopes.AgentsInvoke, Scopes.All);
        Assert.DoesNotContain(Scopes.AdminRead, Scopes.All);
    }
}
