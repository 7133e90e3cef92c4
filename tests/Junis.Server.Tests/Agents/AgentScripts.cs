using System.Text.Json.Nodes;
using Junis.Server.Agents;
using Junis.Server.Auth;
using Junis.Server.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Junis.Server.Tests.Agents;

/// <summary>
/// What tests of running agents share: agents stored for an organization and loaded as a running server loads them, and
/// a fake model server that answers each agent by its instruction (the system prompt it is sent).
/// </summary>
public static class AgentScripts
{
    /// <summary>Stores <paramref name="agents"/> in <paramref name="organization"/> (the bootstrap key's by default) and has the server load them.</summary>
    public static async Task<Dictionary<string, Guid>> StoreAsync(JunisApp app, IReadOnlyList<Agent> agents, string organization = BootstrapKey.OrganizationName)
    {
        var ids = await app.QueryAsync(async db =>
        {
            var org = await db.Organizations.FirstOrDefaultAsync(o => o.Name == organization)
                ?? db.Organizations.Add(new Organization { Name = organization, CreatedAt = DateTime.UtcNow }).Entity;
            foreach (var agent in agents)
            {
                agent.OrganizationId = org.Id;
                agent.CreatedAt = agent.UpdatedAt = DateTime.UtcNow;
                db.Agents.Add(agent);
            }
            await db.SaveChangesAsync();
            return agents.ToDictionary(a => a.Name, a => a.Id);
        });
        await app.Services.GetRequiredService<AgentDirectory>().RefreshAsync(default);
        return ids;
    }

    /// <summary>An agent whose instruction is "You are {name}." (how <see cref="Instruction"/> tells the agents apart).</summary>
    public static Agent LlmAgent(string name, params string[] subAgents) => new()
    {
        Name = name, Instruction = $"You are {name}.", Description = $"The {name} agent", SubAgents = Agent.SubAgentsOf(subAgents),
    };

    public static Agent WorkflowAgent(string name, string type, params string[] subAgents) => new()
    {
        Name = name, AgentType = type, SubAgents = Agent.SubAgentsOf(subAgents),
    };

    /// <summary>The system prompt the model was sent: the instruction of the agent it answers for.</summary>
    public static string? Instruction(JsonObject body) =>
        body["messages"]!.AsArray().Where(m => (string?)m!["role"] == "system").Select(m => (string?)m!["content"]).FirstOrDefault();

    /// <summary>Whether the request offers the model a function of this name.</summary>
    public static bool Offers(JsonObject body, string function) =>
        body["tools"]?.AsArray().Any(t => (string?)t!["function"]!["name"] == function) == true;

    /// <summary>Answers each agent by the start of its instruction; an agent not scripted fails the request.</summary>
    public static Func<HttpContext, JsonObject, Task> ByAgent(params (string Agent, Func<HttpContext, JsonObject, Task> Answer)[] answers) =>
        (context, body) =>
        {
            var instruction = Instruction(body) ?? "";
            foreach (var (agent, answer) in answers)
            {
                if (instruction.StartsWith($"You are {agent}.", StringComparison.Ordinal))
                    return answer(context, body);
            }
            return FakeOpenAIServer.ErrorAsync(context, 400, $"No script for the instruction '{instruction}'.");
        };

    /// <summary>The model calls <c>transfer_to_agent</c> for <paramref name="agent"/>, its arguments streamed in two pieces.</summary>
    public static Func<HttpContext, JsonObject, Task> Transfer(string agent) =>
        (context, body) => FakeOpenAIServer.ToolCallAsync(context, body, "transfer_to_agent", ["{\"agent_name\":", $"\"{agent}\"}}"], id: "call_transfer");

    public static Func<HttpContext, JsonObject, Task> Says(params string[] words) =>
        (context, body) => FakeOpenAIServer.StreamAsync(context, body, words);
}
