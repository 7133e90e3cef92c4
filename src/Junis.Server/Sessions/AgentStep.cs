namespace Junis.Server.Sessions;

/// <summary>One model call inside a turn of agents, kept with the turn's reply for audit: who spoke, what it said, the server-side functions it called, and where its output went.</summary>
public sealed record AgentStep(string Agent, string? Content, IReadOnlyList<StoredToolCall>? ToolCalls = null, string? OutputKey = null);
