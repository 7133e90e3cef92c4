using Junis.Server.Agents;
using Junis.Server.Auth;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Tests.Agents;

/// <summary>What the database itself keeps of an organization's agents, on each engine, whoever writes them.</summary>
public sealed class AgentStorageTests
{
    private static async Task<Guid> OrganizationAsync(JunisApp app, string name) => await app.QueryAsync(async db =>
    {
        var organization = db.Organizations.Add(new Organization { Name = name, CreatedAt = DateTime.UtcNow }).Entity;
        await db.SaveChangesAsync();
        return organization.Id;
    });

    private static Task<int> AddAsync(JunisApp app, Guid organization, string name, bool orchestrator = false, params string[] subAgents) =>
        app.QueryAsync(db =>
        {
            db.Agents.Add(new Agent
            {
                OrganizationId = organization, Name = name, Instruction = $"You are {name}.", IsOrchestrator = orchestrator,
                SubAgents = Agent.SubAgentsOf(subAgents), CreatedAt = DateTime.UtcNow, UpdatedAt = DateTime.UtcNow,
            });
            return db.SaveChangesAsync();
        });

    [Theory, Engines]
    public async Task NamesAreUniqueWithinAnOrganizationAndEachHasAtMostOneOrchestrator(Engine engine)
    {
        using var app = new JunisApp(engine: engine);
        var acme = await OrganizationAsync(app, "acme");
        var globex = await OrganizationAsync(app, "globex");

        await AddAsync(app, acme, "billing");
        await AddAsync(app, acme, "support", orchestrator: true, "billing");
        await AddAsync(app, globex, "support", orchestrator: true);

        await Assert.ThrowsAsync<DbUpdateException>(() => AddAsync(app, acme, "billing"));
        await Assert.ThrowsAsync<DbUpdateException>(() => AddAsync(app, acme, "triage", orchestrator: true));
        var stored = await app.QueryAsync(db => db.Agents.Where(a => a.OrganizationId == acme).OrderBy(a => a.Name).ToListAsync());
        Assert.Equal(["billing", "support"], stored.Select(a => a.Name));
        Assert.Equal(["billing"], stored[1].SubAgentNames());
        Assert.Equal((AgentTypes.Llm, "default", true), (stored[0].AgentType, stored[0].Provider, stored[0].IsActive));
    }

    [Theory, Engines]
    public async Task AnOrganizationsAgentsGoWithIt(Engine engine)
    {
        using var app = new JunisApp(engine: engine);
        var acme = await OrganizationAsync(app, "acme");
        await AddAsync(app, acme, "support", orchestrator: true);

        await app.QueryAsync(db => db.Organizations.Where(o => o.Id == acme).ExecuteDeleteAsync());

        Assert.Equal(0, await app.QueryAsync(db => db.Agents.CountAsync()));
    }
}
