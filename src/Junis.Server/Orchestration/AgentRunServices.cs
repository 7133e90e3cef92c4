using System.Text.Json;
using System.Text.Json.Nodes;
using Junis.Server.Agents;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>What every run of agents shares: the models by provider, the token counter, the server's own functions.</summary>
internal sealed partial class AgentRunServices(IServiceProvider services, TokenCounter tokens, ILogger logger)
{
    /// <summary>Offered to the agents inside a loop.</summary>
    public static readonly DeclaredFunction ExitLoop = new(AgentRun.ExitLoopFunction,
        "Ends the loop you are working in. Call it when the work is done and needs no more rounds.", null, new Dictionary<string, object?>());

    public TokenCounter Tokens => tokens;

    /// <summary>The model of the agent's provider (its model, when it names one, goes with each call).</summary>
    public IChatClient ModelFor(AgentDefinition agent) =>
        services.GetKeyedService<IChatClient>(agent.Provider)
        ?? throw new ModelCallException(500, $"The agent '{agent.Name}' uses the model provider '{agent.Provider}', which this server does not configure.");

    /// <summary><c>transfer_to_agent</c>, its <c>agent_name</c> one of the sub-agents', each described to the model.</summary>
    public static DeclaredFunction TransferFunctionFor(IReadOnlyList<AgentDefinition> subAgents)
    {
        var description = "Hands the conversation to another agent, who answers the user in your place. The agents:\n"
            + string.Join("\n", subAgents.Select(a => $"- {a.Name}: {a.Description ?? a.Name}"));
        var parameters = new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["agent_name"] = new JsonObject
                {
                    ["type"] = "string",
                    ["enum"] = new JsonArray([.. subAgents.Select(a => (JsonNode)JsonValue.Create(a.Name))]),
                },
            },
            ["required"] = new JsonArray("agent_name"),
        };
        return new DeclaredFunction(AgentRun.TransferFunction, description,
            JsonElement.Parse(parameters.ToJsonString()), new Dictionary<string, object?>());
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Agent {Agent} has made its {Limit} model calls of this turn and says no more")]
    public partial void LimitReached(string agent, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Agent {Agent} asked to transfer with {Arguments}, which names none of its active sub-agents; no transfer made")]
    public partial void UnknownTransfer(string agent, string arguments);
}
