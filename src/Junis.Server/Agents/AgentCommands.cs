using System.CommandLine;
using System.Globalization;
using Junis.Server.Auth;
using Junis.Server.Data;
using Junis.Server.Llm;
using Microsoft.EntityFrameworkCore;
using static Junis.Server.Auth.AdminCommands;

namespace Junis.Server.Agents;

/// <summary>
/// <c>agents create|list|show|update|delete|export|import</c> from the server's binary, against the database the server uses. An agent's
/// rules (<see cref="AgentRules"/>) are checked against the organization's agents as they would be after the change.
/// </summary>
public static partial class AgentCommands
{
    public static bool Handles(string[] args) => args is ["agents", ..];

    public static Command Create(IServiceProvider services)
    {
        var organization = new Option<string>("--org") { Description = "The organization's name", Required = true };
        var providers = ModelProviders.In(services.GetRequiredService<IConfiguration>());
        return new Command("agents", "An organization's orchestrator and its agents")
        {
            CreateCommand(services, organization, providers),
            ListCommand(services, organization),
            ShowCommand(services, organization),
            UpdateCommand(services, organization, providers),
            DeleteCommand(services, organization),
            ExportCommand(services, organization),
            ImportCommand(services, organization, providers),
        };
    }

    private static Command CreateCommand(IServiceProvider services, Option<string> organization, ModelProviders providers)
    {
        var name = new Option<string>("--name") { Description = "Its name, unique in the organization", Required = true };
        var fields = new AgentOptions();
        var create = new Command("create", "Create an agent; prints its id") { organization, name };
        fields.AddTo(create);
        create.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            if (await FindOrganizationAsync(db, parse.GetValue(organization)!, cancellationToken) is not { } org)
                return Fail($"No organization is named '{parse.GetValue(organization)}'.");
            var now = DateTime.UtcNow;
            var agent = new Agent { OrganizationId = org.Id, Name = parse.GetValue(name)!.Trim(), CreatedAt = now };
            fields.ApplyTo(parse, agent);
            return await SaveAsync(db, org, agent, providers, now, created: true, cancellationToken);
        }));
        return create;
    }

    private static Command UpdateCommand(IServiceProvider services, Option<string> organization, ModelProviders providers)
    {
        var which = new Argument<string>("agent") { Description = "The agent's name or id" };
        var fields = new AgentOptions();
        var update = new Command("update", "Change the fields given of an agent") { organization, which };
        fields.AddTo(update);
        update.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            if (await FindOrganizationAsync(db, parse.GetValue(organization)!, cancellationToken) is not { } org
                || await FindAsync(db, org.Name, parse.GetValue(which)!, cancellationToken) is not { } agent)
            {
                return Fail($"No agent '{parse.GetValue(which)}' in organization '{parse.GetValue(organization)}'.");
            }
            fields.ApplyTo(parse, agent);
            return await SaveAsync(db, org, agent, providers, DateTime.UtcNow, created: false, cancellationToken);
        }));
        return update;
    }

    /// <summary>Stores a new or changed agent if the organization's agents, with it, keep every rule; else names every error.</summary>
    private static async Task<int> SaveAsync(
        JunisDb db, Organization org, Agent agent, ModelProviders providers, DateTime now, bool created, CancellationToken cancellationToken)
    {
        agent.UpdatedAt = now;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var others = await db.Agents.Where(a => a.OrganizationId == org.Id && a.Id != agent.Id).ToListAsync(cancellationToken);
        if (agent.IsOrchestrator)
        {
            foreach (var other in others.Where(a => a.IsOrchestrator))
                (other.IsOrchestrator, other.UpdatedAt) = (false, now);
        }
        var errors = AgentRules.Check([.. others, agent], providers);
        if (errors.Count > 0)
            return Fail($"The agent was not {(created ? "created" : "changed")}:\n  " + string.Join("\n  ", errors));
        // The former orchestrator steps down before the new one is written: the index allows one at a time.
        var becomesOrchestrator = agent.IsOrchestrator;
        agent.IsOrchestrator = false;
        if (created)
            db.Agents.Add(agent);
        await db.SaveChangesAsync(cancellationToken);
        agent.IsOrchestrator = becomesOrchestrator;
        await db.SaveChangesAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (created)
            Console.WriteLine(agent.Id);
        Console.Error.WriteLine($"{(created ? "Created" : "Changed")} {agent.AgentType} {agent.Name} in {org.Name}{(agent.IsOrchestrator ? ", its orchestrator" : "")}.");
        return 0;
    }

    private static Command ListCommand(IServiceProvider services, Option<string> organization)
    {
        var list = new Command("list", "List an organization's agents") { organization };
        list.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            if (await FindOrganizationAsync(db, parse.GetValue(organization)!, cancellationToken) is not { } org)
                return Fail($"No organization is named '{parse.GetValue(organization)}'.");
            var agents = await db.Agents.Where(a => a.OrganizationId == org.Id).OrderBy(a => a.Name).ToListAsync(cancellationToken);
            WriteTable(["NAME", "TYPE", "MODEL", "SUB-AGENTS", "ROLE", "ID"], agents.Select(a => new[]
            {
                a.Name, a.AgentType, a.Model is null ? a.Provider : $"{a.Provider}/{a.Model}", string.Join(",", a.SubAgentNames()),
                (a.IsOrchestrator ? "orchestrator" : "-") + (a.IsActive ? "" : " (inactive)"), a.Id.ToString(),
            }));
            return 0;
        }));
        return list;
    }

    private static Command ShowCommand(IServiceProvider services, Option<string> organization)
    {
        var which = new Argument<string>("agent") { Description = "The agent's name or id" };
        var show = new Command("show", "Show an agent") { organization, which };
        show.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            if (await FindAsync(db, parse.GetValue(organization)!, parse.GetValue(which)!, cancellationToken) is not { } agent)
                return Fail($"No agent '{parse.GetValue(which)}' in organization '{parse.GetValue(organization)}'.");
            string? Number(double? value) => value?.ToString(CultureInfo.InvariantCulture);
            foreach (var (field, value) in new (string, string?)[]
            {
                ("id", agent.Id.ToString()), ("name", agent.Name), ("description", agent.Description), ("agent_type", agent.AgentType),
                ("provider", agent.Provider), ("model", agent.Model), ("temperature", Number(agent.Temperature)),
                ("max_output_tokens", Number(agent.MaxOutputTokens)), ("max_llm_calls", Number(agent.MaxLlmCalls)),
                ("sub_agents", string.Join(",", agent.SubAgentNames())), ("output_key", agent.OutputKey),
                ("max_iterations", Number(agent.MaxIterations)), ("is_active", agent.IsActive ? "true" : "false"),
                ("is_orchestrator", agent.IsOrchestrator ? "true" : "false"), ("created_at", Format(agent.CreatedAt)),
                ("updated_at", Format(agent.UpdatedAt)), ("instruction", agent.Instruction),
            })
            {
                Console.WriteLine($"{field}: {value ?? "-"}");
            }
            return 0;
        }));
        return show;
    }

    private static Command DeleteCommand(IServiceProvider services, Option<string> organization)
    {
        var which = new Argument<string>("agent") { Description = "The agent's name or id" };
        var delete = new Command("delete", "Delete an agent no other agent names as a sub-agent") { organization, which };
        delete.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            if (await FindAsync(db, parse.GetValue(organization)!, parse.GetValue(which)!, cancellationToken) is not { } agent)
                return Fail($"No agent '{parse.GetValue(which)}' in organization '{parse.GetValue(organization)}'.");
            var others = await db.Agents.Where(a => a.OrganizationId == agent.OrganizationId && a.Id != agent.Id).ToListAsync(cancellationToken);
            var parents = others.Where(a => a.SubAgentNames().Contains(agent.Name)).Select(a => a.Name).ToList();
            if (parents.Count > 0)
                return Fail($"{agent.Name} is a sub-agent of {string.Join(", ", parents)}; change them first.");
            db.Agents.Remove(agent);
            await db.SaveChangesAsync(cancellationToken);
            Console.WriteLine($"Deleted agent {agent.Name} ({agent.Id}).");
            return 0;
        }));
        return delete;
    }

    private static Task<Organization?> FindOrganizationAsync(JunisDb db, string name, CancellationToken cancellationToken) =>
        db.Organizations.FirstOrDefaultAsync(o => o.Name == name, cancellationToken);

    private static async Task<Agent?> FindAsync(JunisDb db, string organization, string which, CancellationToken cancellationToken)
    {
        if (await FindOrganizationAsync(db, organization, cancellationToken) is not { } org)
            return null;
        var agents = db.Agents.Where(a => a.OrganizationId == org.Id);
        return Guid.TryParse(which, out var id)
            ? await agents.FirstOrDefaultAsync(a => a.Id == id, cancellationToken)
            : await agents.FirstOrDefaultAsync(a => a.Name == which, cancellationToken);
    }
}
