using System.Text.Json;
using System.Text.Json.Serialization;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.ChatCompletions;

// Request types have plain settable properties: generated code binds init-only ones through the serializer's
// constructor path, which costs every request more time and memory.

/// <summary>
/// The request body of <c>POST /v1/chat/completions</c>. The fields the server acts on are typed; every other field
/// (<c>response_format</c>, <c>seed</c>, <c>logprobs</c>, <c>metadata</c>, …, and fields it does not know) is kept as
/// written in <see cref="OtherFields"/> and reaches the model unchanged.
/// </summary>
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

    /// <summary>Fields the server passes to the model as written (checked first where OpenAI documents a rule).</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? OtherFields { get; set; }

    /// <summary>The effective output limit: <c>max_completion_tokens</c> wins over the older <c>max_tokens</c>.</summary>
    [JsonIgnore]
    public int? OutputTokenLimit => MaxCompletionTokens ?? MaxTokens;

    [JsonIgnore]
    public bool IsStreaming => Stream == true;
}

public sealed record RequestMessage
{
    public string? Role { get; set; }

    /// <summary>A string or an array of content parts; null for an assistant message that only calls tools.</summary>
    [JsonConverter(typeof(MessageContentConverter))]
    public MessageContent? Content { get; set; }

    public string? Name { get; set; }

    /// <summary>An assistant's refusal, sent back as the model gave it.</summary>
    public string? Refusal { get; set; }

    public List<RequestToolCall?>? ToolCalls { get; set; }
    public string? ToolCallId { get; set; }

    /// <summary>Anything else a message carries (an assistant's <c>audio</c> or legacy <c>function_call</c>), passed on as written.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? OtherFields { get; set; }

    /// <summary>The message's text: the string, or its text parts joined.</summary>
    [JsonIgnore]
    public string? Text => Content?.Text;
}

/// <summary>
/// A message's <c>content</c>: its text (the string, or the text parts joined), and, when it came as an array,
/// every part in order as the content the model takes, each holding the part as written (see <see cref="ContentParts"/>).
/// </summary>
public sealed record MessageContent(string Text, IReadOnlyList<AIContent>? Parts = null)
{
    /// <summary>Whether any part is something other than words: an image, audio, a file.</summary>
    public bool HasMedia => Parts?.Any(ContentParts.IsMedia) == true;
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

    /// <summary>Other fields of the declaration, passed on as written.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? OtherFields { get; set; }
}

public sealed record StreamOptions
{
    public bool? IncludeUsage { get; set; }

    /// <summary>Other stream options (<c>include_obfuscation</c>), passed to the model as written.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? OtherFields { get; set; }
}

/// <summary>
/// <c>tool_choice</c>: <c>none</c>, <c>auto</c>, <c>required</c>, one named function, or a set of allowed tools
/// (<c>{"type":"allowed_tools","allowed_tools":{"mode","tools"}}</c>, kept as written in <see cref="AllowedTools"/>).
/// </summary>
public sealed record ToolChoice(string Mode, string? FunctionName = null, JsonElement? AllowedTools = null)
{
    public const string None = "none", Auto = "auto", Required = "required", Function = "function", Allowed = "allowed_tools";
}
