namespace Junis.Server.Sessions;

/// <summary>One conversation of an organization: its identity, where its transcript stands, and its totals.</summary>
public sealed class Session
{
    public Guid Id { get; set; } = Ids.TimeOrdered();
    public Guid OrganizationId { get; set; }

    /// <summary>The key that started the conversation.</summary>
    public Guid? ApiKeyId { get; set; }

    /// <summary>The caller's name for the conversation (ElevenLabs' conversation_id, or a session_id of the caller's own); unique per organization.</summary>
    public string? ConversationId { get; set; }

    public string? UserId { get; set; }

    /// <summary>Chained hash of the stored transcript: what a client sends before its next new message.</summary>
    public byte[] TranscriptHash { get; set; } = [];

    /// <summary>Chained hash of the transcript before the last turn's input.</summary>
    public byte[] TurnStartHash { get; set; } = [];

    /// <summary>Chained hash of the transcript up to the last turn's input, before its reply: a replay of that turn hashes to this.</summary>
    public byte[] TurnInputHash { get; set; } = [];

    public DateTime CreatedAt { get; set; }
    public DateTime LastUpdateAt { get; set; }

    /// <summary>Set when a turn ended the conversation (an end_call tool call).</summary>
    public DateTime? EndedAt { get; set; }

    public int MessageCount { get; set; }

    /// <summary>Sequence number of the first input message of the last turn: the history of a replay ends before it.</summary>
    public int LastTurnStart { get; set; }

    /// <summary>Sequence number of the last turn's reply, which a replay replaces; 0 when that turn has none (its model call failed).</summary>
    public int LastReplySequence { get; set; }

    public long PromptTokens { get; set; }
    public long CompletionTokens { get; set; }

    public bool IsActive(DateTime now, TimeSpan idle) => EndedAt is null && now - LastUpdateAt < idle;
}

/// <summary>One message of a session, in conversation order.</summary>
public sealed class SessionMessage
{
    public long Id { get; set; }
    public Guid SessionId { get; set; }
    public int Sequence { get; set; }
    public required string Role { get; set; }
    public string? Content { get; set; }

    /// <summary>Of a reply the caller interrupted, the part it heard, as its client sent it back; the reply as generated stays in <see cref="Content"/>.</summary>
    public string? HeardContent { get; set; }

    /// <summary>The assistant's tool calls as OpenAI JSON (<c>[{"id","type","function":{…}}]</c>).</summary>
    public string? ToolCalls { get; set; }

    public string? ToolCallId { get; set; }

    /// <summary>The model's refusal, when it refused rather than answered.</summary>
    public string? Refusal { get; set; }

    /// <summary>The participant's name, when the caller gave one.</summary>
    public string? Name { get; set; }

    /// <summary>A user message's content parts as OpenAI JSON (<c>[{"type":"image_url",…},{"type":"text",…}]</c>), when they hold more than text.</summary>
    public string? Parts { get; set; }

    /// <summary>The agent whose words a reply holds, when agents answered the turn.</summary>
    public string? Agent { get; set; }

    /// <summary>A reply's agent steps as JSON (<c>[{"agent","content","tool_calls","output_key"}]</c>): the turn's model calls the caller did not see.</summary>
    public string? AgentSteps { get; set; }

    /// <summary>The model provider whose answer a reply is (<c>default</c> is <c>Junis:Llm</c>), when it was named.</summary>
    public string? Provider { get; set; }

    public string? FinishReason { get; set; }
    public int? PromptTokens { get; set; }
    public int? CompletionTokens { get; set; }

    /// <summary>The caller went away before the reply was complete; what was generated is kept.</summary>
    public bool Interrupted { get; set; }

    public DateTime CreatedAt { get; set; }
}
