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

    /// <summary>The model calls the server's <c>exit_loop</c>, and says nothing.</summary>
    public static Func<HttpContext, JsonObject, Task> ExitLoop() =>
        (context, body) => FakeOpenAIServer.ToolCallAsync(context, body, "exit_loop", ["{}"], id: "call_exit");

    /// <summary>An answer that depends on how many times this agent has been called this test (1 the first time).</summary>
    public static Func<HttpContext, JsonObject, Task> Numbered(Func<int, Func<HttpContext, JsonObject, Task>> answer)
    {
        var calls = 0;
        return (context, body) => answer(Interlocked.Increment(ref calls))(context, body);
    }

    /// <summary>The agent a request was made for: the name in its instruction's "You are {name}.".</summary>
    public static string AgentOf(JsonObject body) =>
        Instruction(body) is { } instruction && instruction.StartsWith("You are ", StringComparison.Ordinal)
            ? instruction["You are ".Length..instruction.IndexOf('.', StringComparison.Ordinal)]
            : "";

    /// <summary>The names of the functions a request offers, in order.</summary>
    public static List<string> FunctionsOffered(JsonObject body) =>
        [.. body["tools"]?.AsArray().Select(t => (string)t!["function"]!["name"]!) ?? []];

    /// <summary>Every system message a request holds, in order.</summary>
    public static List<string?> SystemMessages(JsonObject body) =>
        [.. body["messages"]!.AsArray().Where(m => (string?)m!["role"] == "system").Select(m => (string?)m!["content"])];

    /// <summary>The words a stream's chunks carried to the caller, joined.</summary>
    public static string Heard(IEnumerable<string> events) =>
        string.Concat(events.Chunks().Where(c => c["choices"]!.AsArray().Count > 0).Select(c => (string?)c["choices"]![0]!["delta"]!["content"]));

    /// <summary>The finish reason a stream ended its (only) choice with.</summary>
    public static string? FinishReason(IEnumerable<string> events) =>
        events.Chunks().Where(c => c["choices"]!.AsArray().Count > 0).Select(c => (string?)c["choices"]![0]!["finish_reason"]).LastOrDefault(r => r is not null);
}
