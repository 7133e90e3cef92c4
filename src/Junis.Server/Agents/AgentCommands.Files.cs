using System.CommandLine;
using Junis.Server.Llm;
using Microsoft.EntityFrameworkCore;
using static Junis.Server.Auth.AdminCommands;

namespace Junis.Server.Agents;

/// <summary><c>agents export|import</c>: an organization's agents as a file (<see cref="AgentFile"/>).</summary>
public static partial class AgentCommands
{
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
}
