using System.Collections.Frozen;
using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Agents;

/// <summary>
/// Every organization's agents, in memory: a turn finds its organization's orchestrator without touching the database.
/// Loaded before the server takes requests, then reloaded whenever the agents change, looked for four times a second,
/// so a change made by the admin commands of any process takes effect within a second. An organization without agents
/// costs a turn one dictionary look-up.
/// </summary>
public sealed partial class AgentDirectory(IDbContextFactory<JunisDb> databases, ILogger<AgentDirectory> logger) : BackgroundService
{
    private static readonly TimeSpan RefreshEvery = TimeSpan.FromMilliseconds(250);
    private FrozenDictionary<Guid, OrganizationAgents> _organizations = FrozenDictionary<Guid, OrganizationAgents>.Empty;
    private AgentsVersion? _version;

    /// <summary>The organization's agents; null when it has none.</summary>
    public OrganizationAgents? For(Guid organizationId) => _organizations.GetValueOrDefault(organizationId);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    /// <summary>Reloads the agents when they have changed since the last look.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        // Any create, update or delete moves the count or the latest change. In plain SQL: asked four times a second,
        // EF Core's query pipeline would cost more than the query (bench/ANALYSIS.md, "Agents").
        AgentsVersion version;
        await using (var command = await db.CommandAsync("""SELECT COUNT(*), MAX("UpdatedAt"), MAX("CreatedAt") FROM "Agents" """, cancellationToken))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            version = new AgentsVersion(reader.GetInt64(0), reader.GetUtcDateTime(1), reader.GetUtcDateTime(2));
        }
        if (version == _version)
            return;
        var agents = await db.Agents.AsNoTracking().ToListAsync(cancellationToken);
        _organizations = agents.GroupBy(a => a.OrganizationId)
            .ToFrozenDictionary(g => g.Key, g => new OrganizationAgents([.. g.Select(AgentDefinition.Of)]));
        _version = version;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(RefreshEvery);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await RefreshAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A busy or briefly unavailable database must not stop the refreshes for good.
                    RefreshFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing agents failed; keeping the agents loaded before")]
    private static partial void RefreshFailed(ILogger logger, Exception e);

    private sealed record AgentsVersion(long Count, DateTime? LatestUpdate, DateTime? LatestCreate);
}

/// <summary>One organization's agents as loaded: by name and by id, with its orchestrator when it has an active one.</summary>
public sealed class OrganizationAgents
{
    private readonly FrozenDictionary<string, AgentDefinition> _byName;
    private readonly FrozenDictionary<Guid, AgentDefinition> _byId;

    public OrganizationAgents(IReadOnlyList<AgentDefinition> agents)
    {
        _byName = agents.ToFrozenDictionary(a => a.Name, StringComparer.Ordinal);
        _byId = agents.ToFrozenDictionary(a => a.Id);
        Orchestrator = agents.FirstOrDefault(a => a.IsOrchestrator && a.IsActive);
    }

    /// <summary>The agent the organization's chat completions go to; null keeps the server's own model and prompt.</summary>
    public AgentDefinition? Orchestrator { get; }

    public AgentDefinition? Named(string name) => _byName.GetValueOrDefault(name);

    public AgentDefinition? WithId(Guid id) => _byId.GetValueOrDefault(id);

    /// <summary>The agent's active sub-agents, in order.</summary>
    public IReadOnlyList<AgentDefinition> SubAgentsOf(AgentDefinition agent) =>
        [.. agent.SubAgents.Select(Named).OfType<AgentDefinition>().Where(a => a.IsActive)];

    /// <summary>Every output key the organization's agents write, which an instruction may name as <c>{key}</c>.</summary>
    public IEnumerable<string> OutputKeys => _byName.Values.Select(a => a.OutputKey).OfType<string>();
}

/// <summary>An agent as a turn runs it: the stored agent, its sub-agents read once.</summary>
public sealed record AgentDefinition(
    Guid Id, string Name, string? Description, string AgentType, string Provider, string? Model, double? Temperature, int? MaxOutputTokens,
    int? MaxLlmCalls, string Instruction, IReadOnlyList<string> SubAgents, string? OutputKey, int? MaxIterations,
    bool IsActive, bool IsOrchestrator)
{
    public static AgentDefinition Of(Agent agent) => new(
        agent.Id, agent.Name, agent.Description, agent.AgentType, agent.Provider, agent.Model, agent.Temperature, agent.MaxOutputTokens,
        agent.MaxLlmCalls, agent.Instruction, agent.SubAgentNames(), agent.OutputKey, agent.MaxIterations,
        agent.IsActive, agent.IsOrchestrator);
}
