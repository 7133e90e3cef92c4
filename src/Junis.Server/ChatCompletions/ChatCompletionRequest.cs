using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.ChatCompletions;

// Request types have plain settable properties: generated code binds init-only ones through the serializer's
// constructor path, which costs every request more time and memory.

/// <summary>The request body of <c>POST /v1/chat/completions</c>. Unknown fields are ignored.</summary>
public sealed record ChatCompletionRequest
{
    public List<RequestMessage?>? Messages { get; set; }
    public string? Model { get; set; }
    public bool? Stream { get; set; }
    public double? Temperature { get; set; }
    public int? MaxTokens { get; set; }
    public int? MaxCompletionTokens { get; set; }
    public double? TopP { get; set; }
    public double? FrequencyPenalty { get; set; }
    public double? PresencePenalty { get; set; }

    [JsonConverter(typeof(StopSequencesConverter))]
    public List<string>? Stop { get; set; }

    public int? N { get; set; }
    public List<ToolDefinition?>? Tools { get; set; }

    [JsonConverter(typeof(ToolChoiceConverter))]
    public ToolChoice? ToolChoice { get; set; }

    public bool? ParallelToolCalls { get; set; }
    public string? User { get; set; }
    public StreamOptions? StreamOptions { get; set; }
    public JsonElement? ElevenlabsExtraBody { get; set; }
    public string? SessionId { get; set; }

    /// <summary>ElevenLabs' name for the end user.</summary>
    public string? UserId { get; set; }

    /// <summary>The effective output limit: <c>max_completion_tokens</c> wins over the older <c>max_tokens</c>.</summary>
    [JsonIgnore]
    public int? OutputTokenLimit => MaxCompletionTokens ?? MaxTokens;

    [JsonIgnore]
    public bool IsStreaming => Stream == true;
}

public sealed record RequestMessage
{
    public string? Role { get; set; }

    /// <summary>A string, or text parts joined; null for an assistant message that only calls tools.</summary>
    [JsonConverter(typeof(MessageContentConverter))]
    public string? Content { get; set; }

    public string? Name { get; set; }
    public List<RequestToolCall?>? ToolCalls { get; set; }
    public string? ToolCallId { get; set; }
}

public sealed record RequestToolCall
{
    public string? Id { get; set; }
    public string? Type { get; set; }
    public RequestFunctionCall? Function { get; set; }
}

public sealed record RequestFunctionCall
{
    public string? Name { get; set; }
    public string? Arguments { get; set; }
}

public sealed record ToolDefinition
{
    public string? Type { get; set; }
    public FunctionDefinition? Function { get; set; }
}

public sealed record FunctionDefinition
{
    public string? Name { get; set; }
    public string? Description { get; set; }
    public JsonElement? Parameters { get; set; }
    public bool? Strict { get; set; }
}

public sealed record StreamOptions
{
    public bool? IncludeUsage { get; set; }
}

/// <summary><c>tool_choice</c>: <c>none</c>, <c>auto</c>, <c>required</c>, or one named function.</summary>
public sealed record ToolChoice(string Mode, string? FunctionName = null)
{
    public const string None = "none", Auto = "auto", Required = "required", Function = "function";
}
