namespace Junis.Server.Agents;

/// <summary>An agent as the Agents API shows it, in Junis's fields.</summary>
public sealed record AgentView(
    Guid Id, string Name, string? Description, string AgentType, string? Model, bool IsActive, IReadOnlyList<string> SubAgents,
    bool IsOrchestrator, DateTime CreatedAt, DateTime UpdatedAt)
{
    public static AgentView Of(Agent agent) => new(agent.Id, agent.Name, agent.Description, agent.AgentType, agent.Model, agent.IsActive,
        agent.SubAgentNames(), agent.IsOrchestrator, agent.CreatedAt, agent.UpdatedAt);
}

/// <summary>An agent with everything it runs by: its provider, sampling, limits and instruction.</summary>
public sealed record AgentDetail(
    Guid Id, string Name, string? Description, string AgentType, string Provider, string? Model, double? Temperature, int? MaxOutputTokens,
    int? MaxLlmCalls, string Instruction, IReadOnlyList<string> SubAgents, string? OutputKey, int? MaxIterations, bool IsActive,
    bool IsOrchestrator, DateTime CreatedAt, DateTime UpdatedAt)
{
    public static AgentDetail Of(Agent agent) => new(agent.Id, agent.Name, agent.Description, agent.AgentType, agent.Provider, agent.Model,
        agent.Temperature, agent.MaxOutputTokens, agent.MaxLlmCalls, agent.Instruction, agent.SubAgentNames(), agent.OutputKey,
        agent.MaxIterations, agent.IsActive, agent.IsOrchestrator, agent.CreatedAt, agent.UpdatedAt);
}

public sealed record AgentList(IReadOnlyList<AgentView> Agents, int Total, int Page, int PageSize, bool HasNext);
