using System.Text.Json;

namespace Junis.Server.Sessions;

/// <summary>One model call inside a turn of agents, kept with the turn's reply for audit: who spoke, what it said, the server-side functions it called, and where its output went.</summary>
public sealed record AgentStep(string Agent, string? Content, IReadOnlyList<StoredToolCall>? ToolCalls = null, string? OutputKey = null);

/// <summary>
/// A reply's agent steps kept as one JSON array (<c>[{"agent","content","tool_calls","output_key"}]</c>), the shape the
/// Sessions API returns: the steps are read whole, for audit, and never queried by their parts.
/// </summary>
public static class StoredAgentSteps
{
    public static string? Serialize(IReadOnlyList<AgentStep>? steps) =>
        steps is { Count: > 0 } ? JsonSerializer.Serialize([.. steps.Select(AgentStepView.Of)], SessionsJson.ForResults.ListAgentStepView) : null;

    public static List<AgentStepView> Parse(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize(json, SessionsJson.ForResults.ListAgentStepView) ?? [];
}
