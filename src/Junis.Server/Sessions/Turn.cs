using Microsoft.Extensions.AI;

namespace Junis.Server.Sessions;

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

/// <summary>Who asks for a turn and which conversation it belongs to, as far as the caller says.</summary>
/// <param name="OrganizationId">The caller's organization: every lookup and write is within it.</param>
/// <param name="ApiKeyId">The key the caller used.</param>
/// <param name="ConversationId">The caller's name for the conversation (ElevenLabs' <c>conversation_id</c>, a <c>session_id</c>), if it gave one.</param>
/// <param name="UserId">The end user, if the caller named one.</param>
public sealed record TurnOwner(Guid OrganizationId, Guid ApiKeyId, string? ConversationId = null, string? UserId = null);

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

    /// <summary>The stored reply this turn's request cut where its caller interrupted it, and what the caller heard of it.</summary>
    public HeardReply? Heard { get; init; }
}

/// <summary>What the caller heard of a stored reply: the text its client sent back in place of the reply at <paramref name="Sequence"/>.</summary>
public sealed record HeardReply(int Sequence, string Content);

/// <summary>How a turn ended, as the session stores it.</summary>
public sealed record TurnOutcome(StoredMessage? Reply, string? FinishReason, TokenUsage? Usage, bool Interrupted = false, bool EndsConversation = false)
{
    public static TurnOutcome Failed { get; } = new(null, null, null);
}
