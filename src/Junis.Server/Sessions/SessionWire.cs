using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.Sessions;

/// <summary>A session as the Sessions API lists it (Junis's shape).</summary>
public record SessionSummary(Guid SessionId, DateTime CreatedAt, DateTime LastUpdateTime, bool IsActive, int MessageCount);

/// <summary>One session in full: the summary and who it belongs to, with its token totals.</summary>
public sealed record SessionDetail(
    Guid SessionId, DateTime CreatedAt, DateTime LastUpdateTime, bool IsActive, int MessageCount,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? ConversationId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? UserId,
    long PromptTokens, long CompletionTokens)
{
    public long TotalTokens => PromptTokens + CompletionTokens;
}

public sealed record SessionList(IReadOnlyList<SessionSummary> Sessions, int Total, int Page, int PageSize, bool HasNext);

public sealed record MessageView(
    long Id, string Role,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Content,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] IReadOnlyList<ToolCallView>? ToolCalls,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason,
    DateTime CreatedAt,
    string? ToolCallId = null,
    bool Interrupted = false)
{
    /// <summary>The model's refusal, when it refused rather than answered.</summary>
    public string? Refusal { get; init; }

    public string? Name { get; init; }

    /// <summary>Of a reply the caller interrupted, what it heard (as its client sent it back); <c>content</c> is the reply as generated.</summary>
    public string? HeardContent { get; init; }

    /// <summary>A user message's content parts as sent (OpenAI's shapes), when they held more than text; <c>content</c> is their text.</summary>
    public JsonElement? ContentParts { get; init; }

    /// <summary>The agent whose words the caller received, when agents answered the turn.</summary>
    public string? Agent { get; init; }

    /// <summary>Every model call of the turn, in order, when agents answered it: the server-side calls the caller never saw among them.</summary>
    public IReadOnlyList<AgentStepView>? AgentSteps { get; init; }

    /// <summary>The model provider that answered (<c>default</c>, or a fallback's name), when it was named.</summary>
    public string? Provider { get; init; }
}

public sealed record MessageList(IReadOnlyList<MessageView> Messages, int Total, int Page, int PageSize, bool HasNext);

public sealed record SessionStatus(Guid SessionId, string Status, bool IsActive, DateTime LastUpdateTime);

/// <summary>A stored tool call as OpenAI writes one; the tool-calls column holds a list of these.</summary>
public sealed record ToolCallView([property: JsonPropertyOrder(-2)] string Id, FunctionView Function)
{
    [JsonPropertyOrder(-1)]
    public string Type => "function";

    public static ToolCallView Of(StoredToolCall call) => new(call.Id, new FunctionView(call.Name, call.Arguments));
}

public sealed record FunctionView(string Name, string Arguments);

/// <summary>
/// An agent step as the agent-steps column and the Sessions API write it. Its words are always written, null or not,
/// as a message's are; its calls and output key only when it had them.
/// </summary>
public sealed record AgentStepView(
    string Agent,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Content,
    IReadOnlyList<ToolCallView>? ToolCalls = null,
    string? OutputKey = null)
{
    public static AgentStepView Of(AgentStep step) =>
        new(step.Agent, step.Content, step.ToolCalls is { Count: > 0 } calls ? [.. calls.Select(ToolCallView.Of)] : null, step.OutputKey);
}
