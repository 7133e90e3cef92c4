using System.Globalization;
using System.Text.RegularExpressions;
using Junis.Server.Llm;

namespace Junis.Server.Agents;

/// <summary>
/// What makes an organization's agents valid, checked before anything is written: each agent alone, and the set of them
/// (every sub-agent named exists, and no agent is its own sub-agent however far down). Every error is named.
/// </summary>
public static partial class AgentRules
{
    public const int MaxIterationsLimit = 100, MaxLlmCallsLimit = 100, MaxOutputTokensLimit = 1_000_000;

    /// <summary>The errors of <paramref name="agents"/>, an organization's agents as they would be stored.</summary>
    public static List<string> Check(IReadOnlyList<Agent> agents, ModelProviders providers)
    {
        var errors = new List<string>();
        var byName = new Dictionary<string, Agent>(StringComparer.Ordinal);
        foreach (var agent in agents)
        {
            if (!byName.TryAdd(agent.Name, agent))
                errors.Add($"{agent.Name}: another agent has this name.");
        }
        foreach (var agent in agents)
            errors.AddRange(CheckOne(agent, byName, providers).Select(e => $"{agent.Name}: {e}"));
        if (agents.Count(a => a.IsOrchestrator) > 1)
            errors.Add($"only one agent can be the orchestrator: {string.Join(", ", agents.Where(a => a.IsOrchestrator).Select(a => a.Name))}.");
        foreach (var cycle in Cycles(byName))
            errors.Add($"sub-agents go round in a circle: {string.Join(" → ", cycle)}.");
        return errors;
    }

    private static IEnumerable<string> CheckOne(Agent agent, Dictionary<string, Agent> byName, ModelProviders providers)
    {
        if (!AgentName().IsMatch(agent.Name))
            yield return "a name is a letter, then up to 99 letters, digits, '_' or '-'.";
        if (!AgentTypes.All.Contains(agent.AgentType))
            yield return $"the type must be one of {string.Join(", ", AgentTypes.All)}, not {agent.AgentType}.";
        if (!providers.Has(agent.Provider))
            yield return $"no model provider is named {agent.Provider} (configured: {string.Join(", ", providers.Names)}).";
        if (agent.Temperature is < 0 or > 2)
            yield return "the temperature must be between 0 and 2.";
        if (agent.MaxOutputTokens is < 1 or > MaxOutputTokensLimit)
            yield return string.Create(CultureInfo.InvariantCulture, $"max output tokens must be between 1 and {MaxOutputTokensLimit}.");
        if (agent.MaxLlmCalls is < 1 or > MaxLlmCallsLimit)
            yield return $"max LLM calls must be between 1 and {MaxLlmCallsLimit}.";
        var subAgents = agent.SubAgentNames();
        if (agent.AgentType == AgentTypes.Llm && string.IsNullOrWhiteSpace(agent.Instruction))
            yield return "an LLM_AGENT needs an instruction.";
        if (agent.AgentType != AgentTypes.Llm && subAgents.Count == 0)
            yield return $"a {agent.AgentType} needs sub-agents to run.";
        if (agent.AgentType == AgentTypes.Loop && agent.MaxIterations is not (>= 1 and <= MaxIterationsLimit))
            yield return $"a LOOP_AGENT needs max iterations between 1 and {MaxIterationsLimit}.";
        if (agent.AgentType != AgentTypes.Loop && agent.MaxIterations is not null)
            yield return "only a LOOP_AGENT has max iterations.";
        foreach (var duplicate in subAgents.GroupBy(n => n).Where(g => g.Count() > 1))
            yield return $"the sub-agent {duplicate.Key} is named more than once.";
        foreach (var missing in subAgents.Where(n => !byName.ContainsKey(n)).Distinct())
            yield return $"no agent is named {missing}, which it names as a sub-agent.";
    }

    /// <summary>Each circle of sub-agents once, as the path that closes it.</summary>
    private static List<List<string>> Cycles(Dictionary<string, Agent> byName)
    {
        var done = new HashSet<string>(StringComparer.Ordinal);
        var path = new List<string>();
        var cycles = new List<List<string>>();

        void Visit(string name)
        {
            var at = path.IndexOf(name);
            if (at >= 0)
            {
                cycles.Add([.. path[at..], name]);
                return;
            }
            if (!done.Add(name) || !byName.TryGetValue(name, out var agent))
                return;
            path.Add(name);
            foreach (var sub in agent.SubAgentNames())
                Visit(sub);
            path.RemoveAt(path.Count - 1);
        }

        foreach (var name in byName.Keys)
            Visit(name);
        return cycles;
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,99}$")]
    private static partial Regex AgentName();
}
