using Junis.Server.Agents;
using Junis.Server.Llm;

namespace Junis.Server.Tests.Agents;

/// <summary>The rules of an organization's agents taken as a whole: circles of sub-agents, one orchestrator, workflow agents' needs.</summary>
public sealed class AgentRulesTests
{
    private static readonly ModelProviders Providers = new(["default"]);

    private static Agent Agent(string name, string type = AgentTypes.Llm, bool orchestrator = false, int? iterations = null, params string[] subAgents) => new()
    {
        Name = name, AgentType = type, Instruction = $"You are {name}.", IsOrchestrator = orchestrator, MaxIterations = iterations,
        SubAgents = Junis.Server.Agents.Agent.SubAgentsOf(subAgents),
    };

    [Fact]
    public void AValidTreeHasNoErrors()
    {
        Assert.Empty(AgentRules.Check([
            Agent("support", orchestrator: true, subAgents: ["billing", "pipeline"]),
            Agent("billing"),
            Agent("pipeline", AgentTypes.Sequential, subAgents: ["draft", "review"]),
            Agent("draft"),
            Agent("review", AgentTypes.Loop, iterations: 3, subAgents: ["draft"]),
        ], Providers));
    }

    [Fact]
    public void EveryCircleAndEveryOtherFaultIsNamed()
    {
        var errors = AgentRules.Check([
            Agent("a", orchestrator: true, subAgents: ["b"]),
            Agent("b", AgentTypes.Sequential, subAgents: ["c"]),
            Agent("c", AgentTypes.Parallel, subAgents: ["a"]),
            Agent("self", subAgents: ["self"]),
            Agent("second", orchestrator: true),
            Agent("empty", AgentTypes.Sequential),
            Agent("9lives"),
        ], Providers);

        Assert.Equal(
        [
            "empty: a SEQUENTIAL_AGENT needs sub-agents to run.",
            "9lives: a name is a letter, then up to 99 letters, digits, '_' or '-'.",
            "only one agent can be the orchestrator: a, second.",
            "sub-agents go round in a circle: a → b → c → a.",
            "sub-agents go round in a circle: self → self.",
        ], errors);
    }
}
