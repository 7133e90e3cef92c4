using System.Text.Json;
using Junis.Server.ChatCompletions;
using Microsoft.Extensions.AI;

namespace Junis.Server.Sessions;

/// <summary>A message as stored: its transcript view plus the ids that link tool calls and results.</summary>
public sealed record StoredMessage(string Role, string? Content, IReadOnlyList<ToolCall>? ToolCalls = null, string? ToolCallId = null)
{
    /// <summary>A reply the model refused to give, in its words; such a reply has no content.</summary>
    public string? Refusal { get; init; }

    /// <summary>The participant's name, when the caller gave one.</summary>
    public string? Name { get; init; }

    /// <summary>A user message's content parts as written, when they hold more than text (images, audio, files).</summary>
    public IReadOnlyList<JsonElement>? Parts { get; init; }

    public TranscriptMessage Transcript =>
        new(Role, Content ?? Refusal, ToolCalls?.Select(c => (c.Function.Name, c.Function.Arguments)).ToList(), Parts);
}

/// <summary>How a request relates to what its session already holds.</summary>
public enum TurnKind
{
    /// <summary>A conversation not seen before: everything the request carries is stored.</summary>
    NewSession,

    /// <summary>The request carries the whole conversation; its new messages are stored after the session's.</summary>
    Continue,

    /// <summary>The request names its session and carries only its newest messages; stored history goes before them.</summary>
    ContinueWithHistory,

    /// <summary>The same turn again (a client retrying): its reply replaces the one stored, nothing is stored twice.</summary>
    Replay,
}

/// <summary>
/// One turn of a session, decided before the model is called: where it belongs, what it adds, and where the
/// session's transcript hashes will stand once its input is stored.
/// </summary>
public sealed class Turn
{
    public required Guid SessionId { get; init; }
    public required Guid OrganizationId { get; init; }
    public required Guid ApiKeyId { get; init; }
    public required TurnKind Kind { get; init; }
    public string? ConversationId { get; init; }
    public string? UserId { get; init; }

    /// <summary>Messages to store before the reply (none for a replay).</summary>
    public required IReadOnlyList<StoredMessage> Input { get; init; }

    /// <summary>Stored messages the model sees before the request's own (only when continuing with history).</summary>
    public IReadOnlyList<ChatMessage> History { get; init; } = [];

    public required byte[] StartHash { get; init; }
    public required byte[] InputHash { get; init; }
    public required byte[] UserTurnsHash { get; init; }
}

/// <summary>How a turn ended, as the session stores it.</summary>
public sealed record TurnOutcome(StoredMessage? Reply, string? FinishReason, Usage? Usage, bool Interrupted = false, bool EndsConversation = false)
{
    public static TurnOutcome Failed { get; } = new(null, null, null);
}
