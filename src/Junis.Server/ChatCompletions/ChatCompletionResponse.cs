using System.Text.Json;
using System.Text.Json.Serialization;
using Junis.Server.Orchestration;
using Microsoft.Extensions.AI;

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
    [JsonPropertyName("object")]
    public string ObjectType => "chat.completion";

    /// <summary>The model's, when it named one (OpenAI's <c>service_tier</c> and <c>system_fingerprint</c>).</summary>
    public string? ServiceTier { get; init; }

    public string? SystemFingerprint { get; init; }

    /// <summary>The id the model's server gave the request, for the <c>x-request-id</c> header; not part of the body.</summary>
    [JsonIgnore]
    public string? RequestId { get; init; }

    /// <summary>The model provider that answered, for the <c>X-Model-Provider</c> header; not part of the body.</summary>
    [JsonIgnore]
    public string? Provider { get; init; }
}

public sealed record CompletionChoice(
    int Index,
    AssistantMessage Message,
    // Real OpenAI sends an explicit null when there are none; some clients read the key unconditionally.
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] JsonElement? Logprobs,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string FinishReason);

// Written, never read. Extension data must be settable: generated code binds init-only properties as constructor parameters.
public sealed record AssistantMessage
{
    [JsonPropertyOrder(-1)]
    public string Role => "assistant";

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Content { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Refusal { get; init; }

    public IReadOnlyList<ToolCall>? ToolCalls { get; init; }

    /// <summary>The legacy form of a call, answering legacy <c>functions</c>.</summary>
    public FunctionCall? FunctionCall { get; init; }

    /// <summary>Fields of the model's reply passed on as written (<c>audio</c>, <c>annotations</c>, …).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? OtherFields { get; set; }
}

public sealed record ToolCall([property: JsonPropertyOrder(-2)] string Id, FunctionCall Function)
{
    [JsonPropertyOrder(-1)]
    public string Type => "function";
}

public sealed record FunctionCall(string Name, string Arguments);

public sealed record Usage(long PromptTokens, long CompletionTokens)
{
    public long TotalTokens => PromptTokens + CompletionTokens;

    /// <summary>A turn's usage as OpenAI writes it: the details only where the model reported some.</summary>
    public static Usage Of(UsageDetails usage)
    {
        var promptAudio = TurnUsage.Count(usage, TurnUsage.PromptAudio);
        var (reasoning, audio, accepted, rejected) = (usage.ReasoningTokenCount, TurnUsage.Count(usage, TurnUsage.CompletionAudio),
            TurnUsage.Count(usage, TurnUsage.AcceptedPrediction), TurnUsage.Count(usage, TurnUsage.RejectedPrediction));
        return new Usage(usage.InputTokenCount ?? 0, usage.OutputTokenCount ?? 0)
        {
            PromptTokensDetails = (usage.CachedInputTokenCount ?? promptAudio) is null ? null : new PromptTokensDetails(usage.CachedInputTokenCount, promptAudio),
            CompletionTokensDetails = (reasoning ?? audio ?? accepted ?? rejected) is null ? null : new CompletionTokensDetails(reasoning, audio, accepted, rejected),
        };
    }

    /// <summary>As the model reported them; absent when it reported none.</summary>
    public PromptTokensDetails? PromptTokensDetails { get; init; }

    public CompletionTokensDetails? CompletionTokensDetails { get; init; }
}

public sealed record PromptTokensDetails(long? CachedTokens, long? AudioTokens);

public sealed record CompletionTokensDetails(long? ReasoningTokens, long? AudioTokens, long? AcceptedPredictionTokens, long? RejectedPredictionTokens);

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
    [JsonPropertyName("object")]
    public string ObjectType => "chat.completion.chunk";

    public string? ServiceTier { get; init; }

    public string? SystemFingerprint { get; init; }
}

public sealed record ChunkChoice(
    int Index,
    Delta Delta,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never), JsonPropertyOrder(1)] string? FinishReason = null)
{
    // An explicit null, as in CompletionChoice. A chunk with log probabilities is written by CompletionStream itself:
    // typed as text, this one is written by the generated code directly, not by the serializer's slower general path.
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Logprobs => null;
}

// No raw JSON here either (extension data, JsonElement): every chunk of every stream is written by the generated
// code directly only while all its types can be.
public sealed record Delta
{
    public string? Role { get; init; }
    public string? Content { get; init; }
    public IReadOnlyList<ToolCallDelta>? ToolCalls { get; init; }
    public string? Refusal { get; init; }
    public FunctionCallDelta? FunctionCall { get; init; }
}

/// <summary>A streamed tool call: the first delta has index, id, type and name; later ones argument fragments.</summary>
public sealed record ToolCallDelta(int Index, string? Id, string? Type, FunctionCallDelta Function);

public sealed record FunctionCallDelta(string? Name, string? Arguments);

public sealed record ModelList(IReadOnlyList<ModelCard> Data)
{
    [JsonPropertyOrder(-1)]
    [JsonPropertyName("object")]
    public string ObjectType => "list";
}

public sealed record ModelCard([property: JsonPropertyOrder(-2)] string Id, long Created, string OwnedBy)
{
    [JsonPropertyOrder(-1)]
    [JsonPropertyName("object")]
    public string ObjectType => "model";
}
