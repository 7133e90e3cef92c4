using System.Text.Json;

namespace Junis.Server.Agents;

/// <summary>The kinds of agent, named as Junis names them.</summary>
public static class AgentTypes
{
    /// <summary>A model with an instruction, which can hand the conversation to its sub-agents.</summary>
    public const string Llm = "LLM_AGENT";

    /// <summary>Runs its sub-agents in order, each one's output under its output key for the next.</summary>
    public const string Sequential = "SEQUENTIAL_AGENT";

    /// <summary>Runs its sub-agents at once and joins their outputs in order.</summary>
    public const string Parallel = "PARALLEL_AGENT";

    /// <summary>Repeats its sub-agents up to its maximum of iterations, or until one of them exits the loop.</summary>
    public const string Loop = "LOOP_AGENT";

    public static readonly IReadOnlyList<string> All = [Llm, Sequential, Parallel, Loop];
}

/// <summary>
/// One of an organization's agents. Its name is unique in the organization, and its sub-agents are named, in order.
/// At most one agent of an organization is its orchestrator: the chat completions of the organization's keys go to it.
/// The model is named by provider (<c>Junis:Providers:{name}</c>, or <c>default</c>) and, optionally, by model on it;
/// the provider's secrets stay in configuration.
/// </summary>
public sealed class Agent
{
    public Guid Id { get; set; } = Ids.TimeOrdered();
    public Guid OrganizationId { get; set; }
    public required string Name { get; set; }
    public string? Description { get; set; }
    public string AgentType { get; set; } = AgentTypes.Llm;
    public string Provider { get; set; } = "default";
    public string? Model { get; set; }
    public double? Temperature { get; set; }
    public int? MaxOutputTokens { get; set; }
    public int? MaxLlmCalls { get; set; }
    public string Instruction { get; set; } = "";

    /// <summary>The sub-agents' names, in order, as a JSON array.</summary>
    public string SubAgents { get; set; } = "[]";

    public string? OutputKey { get; set; }
    public int? MaxIterations { get; set; }
    public bool IsActive { get; set; } = true;
    public bool IsOrchestrator { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    public IReadOnlyList<string> SubAgentNames() => JsonSerializer.Deserialize(SubAgents, AgentsJson.ForResults.StringArray) ?? [];

    public static string SubAgentsOf(IEnumerable<string> names) => JsonSerializer.Serialize([.. names], AgentsJson.ForResults.StringArray);
}
