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
public static class AgentCommands
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

    private static Command ExportCommand(IServiceProvider services, Option<string> organization)
    {
        var format = new Option<string>("--format") { Description = "json or yaml", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("json", "yaml");
        var export = new Command("export", "Print the organization's agents as a file agents import takes") { organization, format };
        export.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            if (await FindOrganizationAsync(db, parse.GetValue(organization)!, cancellationToken) is not { } org)
                return Fail($"No organization is named '{parse.GetValue(organization)}'.");
            var file = AgentFile.Of(await db.Agents.Where(a => a.OrganizationId == org.Id).ToListAsync(cancellationToken));
            Console.WriteLine(parse.GetValue(format) == "yaml" ? file.ToYaml() : file.ToJson());
            return 0;
        }));
        return export;
    }

    private static Command ImportCommand(IServiceProvider services, Option<string> organization, ModelProviders providers)
    {
        var path = new Argument<string>("file") { Description = "The agents, JSON or YAML (.yaml, .yml), as agents export writes them" };
        var import = new Command("import",
            "Make the organization's agents those of the file, in one transaction: agents are matched by name, and those the file lacks are deleted")
        {
            organization, path,
        };
        import.SetAction((parse, cancellationToken) => WithDatabaseAsync(services, async db =>
        {
            if (await FindOrganizationAsync(db, parse.GetValue(organization)!, cancellationToken) is not { } org)
                return Fail($"No organization is named '{parse.GetValue(organization)}'.");
            var name = parse.GetValue(path)!;
            if (!File.Exists(name))
                return Fail($"No file '{name}'.");
            var (file, unreadable) = AgentFile.Read(name, await File.ReadAllTextAsync(name, cancellationToken));
            if (file is null)
                return Fail($"'{name}' cannot be read: {unreadable}");

            var wanted = file.Agents.Select(spec =>
            {
                var agent = new Agent { Name = spec.Name, OrganizationId = org.Id };
                spec.ApplyTo(agent);
                return agent;
            }).ToList();
            var errors = AgentRules.Check(wanted, providers);
            if (errors.Count > 0)
                return Fail($"'{name}' was not imported; nothing changed:\n  " + string.Join("\n  ", errors));

            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var stored = await db.Agents.Where(a => a.OrganizationId == org.Id).ToDictionaryAsync(a => a.Name, cancellationToken);
            var named = wanted.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
            // First the agents the file lacks go and no agent is the orchestrator: the indexes allow one of each at a time.
            foreach (var agent in stored.Values)
            {
                if (named.Contains(agent.Name))
                    agent.IsOrchestrator = false;
                else
                    db.Agents.Remove(agent);
            }
            await db.SaveChangesAsync(cancellationToken);
            var now = DateTime.UtcNow;
            foreach (var spec in file.Agents)
            {
                if (!stored.TryGetValue(spec.Name, out var agent))
                    agent = db.Agents.Add(new Agent { Name = spec.Name, OrganizationId = org.Id, CreatedAt = now }).Entity;
                spec.ApplyTo(agent);
                agent.UpdatedAt = now;
            }
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            var kept = stored.Keys.Count(named.Contains);
            Console.WriteLine($"Imported {wanted.Count} agents into {org.Name}: {wanted.Count - kept} new, {kept} updated, {stored.Count - kept} deleted.");
            return 0;
        }));
        return import;
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

    /// <summary>An agent's fields as options, for <c>create</c> and <c>update</c>: given ones are written, others left as they are.</summary>
    private sealed class AgentOptions
    {
        private readonly Option<string> _instruction = new("--instruction") { Description = "What it is told (its system prompt)" };
        private readonly Option<string> _description = new("--description") { Description = "What it is for" };
        private readonly Option<string> _type = new("--type") { Description = string.Join("|", AgentTypes.All) + " (default LLM_AGENT)" };
        private readonly Option<string> _provider = new("--provider") { Description = "The model provider (Junis:Providers:{name}, or default)" };
        private readonly Option<string> _model = new("--model") { Description = "A model of the provider other than its own" };
        private readonly Option<double?> _temperature = new("--temperature") { Description = "0 to 2" };
        private readonly Option<int?> _maxOutputTokens = new("--max-output-tokens") { Description = "The longest reply, in tokens" };
        private readonly Option<int?> _maxLlmCalls = new("--max-llm-calls") { Description = "The most model calls of one turn" };
        private readonly Option<string> _subAgents = new("--sub-agents") { Description = "Its sub-agents' names, in order: a,b" };
        private readonly Option<string> _outputKey = new("--output-key") { Description = "Where its output is kept for the agents after it" };
        private readonly Option<int?> _maxIterations = new("--max-iterations") { Description = "LOOP_AGENT: the most rounds" };
        private readonly Option<bool?> _active = new("--active") { Description = "true or false: whether it can be used" };
        private readonly Option<bool> _orchestrator = new("--orchestrator") { Description = "Make it the organization's orchestrator, in place of any other" };

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { _instruction, _description, _type, _provider, _model, _temperature, _maxOutputTokens, _maxLlmCalls,
                _subAgents, _outputKey, _maxIterations, _active, _orchestrator })
            {
                command.Add(option);
            }
        }

        public void ApplyTo(ParseResult parse, Agent agent)
        {
            void Set<T>(Option<T> option, Action<T> write)
            {
                if (parse.GetResult(option) is not null)
                    write(parse.GetValue(option)!);
            }
            Set(_instruction, v => agent.Instruction = v);
            Set(_description, v => agent.Description = v);
            Set(_type, v => agent.AgentType = v);
            Set(_provider, v => agent.Provider = v);
            Set(_model, v => agent.Model = v);
            Set(_temperature, v => agent.Temperature = v);
            Set(_maxOutputTokens, v => agent.MaxOutputTokens = v);
            Set(_maxLlmCalls, v => agent.MaxLlmCalls = v);
            Set(_subAgents, v => agent.SubAgents = Agent.SubAgentsOf(v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)));
            Set(_outputKey, v => agent.OutputKey = v);
            Set(_maxIterations, v => agent.MaxIterations = v);
            Set(_active, v => agent.IsActive = v ?? true);
            if (parse.GetValue(_orchestrator))
                agent.IsOrchestrator = true;
        }
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
