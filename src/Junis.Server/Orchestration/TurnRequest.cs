using Microsoft.Extensions.AI;

namespace Junis.Server.Orchestration;

/// <summary>
/// What any surface asks of one turn, free of its wire format: the conversation as the caller sent it (instructions
/// included), the options for the model (anything the surface does not act on rides in
/// <see cref="ChatOptions.AdditionalProperties"/> as written), and who is asking.
/// </summary>
public sealed record TurnRequest(Guid OrganizationId, Guid ApiKeyId, IReadOnlyList<ChatMessage> Messages, ChatOptions Options)
{
    /// <summary>The caller's name for the conversation, when it gave one; otherwise the transcript finds it.</summary>
    public string? ConversationId { get; init; }

    /// <summary>The end user, when the caller named one.</summary>
    public string? UserId { get; init; }

    /// <summary>How many replies to generate; the first is the one the session keeps.</summary>
    public int Choices { get; init; } = 1;

    /// <summary>The agent the caller invoked directly (<see cref="Orchestrator.Invocable"/>); otherwise the organization's orchestrator answers, if it has one.</summary>
    public Guid? AgentId { get; init; }

    /// <summary>Whether the caller reads the reply as it is generated (and so may hear buffer words).</summary>
    public bool Streaming { get; init; }
}

/// <summary>Whether a caller may invoke an agent directly: its name when it may, else why not (and whether the agent exists at all).</summary>
public sealed record AgentInvocation(Guid? AgentId, string? AgentName, string? Problem, bool Found);
