using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.ChatCompletions;

/// <summary>The request body of <c>POST /v1/chat/completions</c>. Unknown fields are ignored.</summary>
public sealed record ChatCompletionRequest
{
    public List<RequestMessage?>? Messages { get; init; }
    public string? Model { get; init; }
    public bool? Stream { get; init; }
    public double? Temperature { get; init; }
    public int? MaxTokens { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public double? TopP { get; init; }
    public double? FrequencyPenalty { get; init; }
    public double? PresencePenalty { get; init; }

    [JsonConverter(typeof(StopSequencesConverter))]
    public List<string>? Stop { get; init; }

    public int? N { get; init; }
    public List<ToolDefinition?>? Tools { get; init; }

    [JsonConverter(typeof(ToolChoiceConverter))]
    public ToolChoice? ToolChoice { get; init; }

    public bool? ParallelToolCalls { get; init; }
    public string? User { get; init; }
    public StreamOptions? StreamOptions { get; init; }
    public JsonElement? ElevenlabsExtraBody { get; init; }
    public string? SessionId { get; init; }

    /// <summary>ElevenLabs' name for the end user.</summary>
    public string? UserId { get; init; }

    /// <summary>The effective output limit: <c>max_completion_tokens</c> wins over the older <c>max_tokens</c>.</summary>
    [JsonIgnore]
    public int? OutputTokenLimit => MaxCompletionTokens ?? MaxTokens;

    [JsonIgnore]
    public bool IsStreaming => Stream == true;
}

public sealed record RequestMessage
{
    public string? Role { get; init; }

    /// <summary>A string, or text parts joined; null for an assistant message that only calls tools.</summary>
    [JsonConverter(typeof(MessageContentConverter))]
    public string? Content { get; init; }

    public string? Name { get; init; }
    public List<RequestToolCall?>? ToolCalls { get; init; }
    public string? ToolCallId { get; init; }
}

public sealed record RequestToolCall
{
    public string? Id { get; init; }
    public string? Type { get; init; }
    public RequestFunctionCall? Function { get; init; }
}

public sealed record RequestFunctionCall
{
    public string? Name { get; init; }
    public string? Arguments { get; init; }
}

public sealed record ToolDefinition
{
    public string? Type { get; init; }
    public FunctionDefinition? Function { get; init; }
}

public sealed record FunctionDefinition
{
    public string? Name { get; init; }
    public string? Description { get; init; }
    public JsonElement? Parameters { get; init; }
    public bool? Strict { get; init; }
}

public sealed record StreamOptions
{
    public bool? IncludeUsage { get; init; }
}

/// <summary><c>tool_choice</c>: <c>none</c>, <c>auto</c>, <c>required</c>, or one named function.</summary>
public sealed record ToolChoice(string Mode, string? FunctionName = null)
{
    public const string None = "none", Auto = "auto", Required = "required", Function = "function";
}
