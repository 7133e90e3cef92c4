using System.Text.Json.Serialization;

namespace Junis.Server.ChatCompletions;

/// <summary>A whole completion (<c>object: "chat.completion"</c>).</summary>
public sealed record ChatCompletion(
    [property: JsonPropertyOrder(-2)] string Id,
    long Created,
    string Model,
    IReadOnlyList<CompletionChoice> Choices,
    Usage Usage)
{
    [JsonPropertyOrder(-1)]
    public string Object => "chat.completion";
}

public sealed record CompletionChoice(
    int Index,
    AssistantMessage Message,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never), JsonPropertyOrder(1)] string FinishReason)
{
    // Real OpenAI sends an explicit null; some clients read the key unconditionally. Typed as text, not object, so
    // the generated serializer writes it directly rather than falling back to its slower general path.
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Logprobs => null;
}

public sealed record AssistantMessage(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Content,
    IReadOnlyList<ToolCall>? ToolCalls = null)
{
    [JsonPropertyOrder(-1)]
    public string Role => "assistant";

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Refusal => null;
}

public sealed record ToolCall([property: JsonPropertyOrder(-2)] string Id, FunctionCall Function)
{
    [JsonPropertyOrder(-1)]
    public string Type => "function";
}

public sealed record FunctionCall(string Name, string Arguments);

public sealed record Usage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>One server-sent event of a stream (<c>object: "chat.completion.chunk"</c>).</summary>
public sealed record ChatCompletionChunk(
    [property: JsonPropertyOrder(-2)] string Id,
    long Created,
    string Model,
    IReadOnlyList<ChunkChoice> Choices,
    // Only the closing chunk of an include_usage stream carries usage; the SDKs treat the key as optional elsewhere.
    Usage? Usage = null)
{
    [JsonPropertyOrder(-1)]
    public string Object => "chat.completion.chunk";
}

public sealed record ChunkChoice(
    int Index,
    Delta Delta,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never), JsonPropertyOrder(1)] string? FinishReason = null)
{
    // Always null, as in CompletionChoice.
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Logprobs => null;
}

public sealed record Delta(string? Role = null, string? Content = null, IReadOnlyList<ToolCallDelta>? ToolCalls = null);

/// <summary>A streamed tool call: the first delta has index, id, type and name; later ones argument fragments.</summary>
public sealed record ToolCallDelta(int Index, string? Id, string? Type, FunctionCallDelta Function);

public sealed record FunctionCallDelta(string? Name, string? Arguments);

public sealed record ModelList(IReadOnlyList<ModelCard> Data)
{
    [JsonPropertyOrder(-1)]
    public string Object => "list";
}

public sealed record ModelCard([property: JsonPropertyOrder(-2)] string Id, long Created, string OwnedBy)
{
    [JsonPropertyOrder(-1)]
    public string Object => "model";
}
