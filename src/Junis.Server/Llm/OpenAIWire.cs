using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.Llm;

// What this server sends to and reads from an OpenAI-compatible model server: only the fields it uses.
// Anything else a provider adds to its answers is skipped unread.

internal sealed record ModelRequest(string Model, List<ModelMessage> Messages)
{
    public float? Temperature { get; init; }
    public float? TopP { get; init; }
    public float? FrequencyPenalty { get; init; }
    public float? PresencePenalty { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public int? MaxTokens { get; init; }
    public IList<string>? Stop { get; init; }
    public List<ModelTool>? Tools { get; init; }
    public JsonElement? ToolChoice { get; init; }
    public bool? ParallelToolCalls { get; init; }
    public string? User { get; init; }
    public bool? Stream { get; init; }
    public ModelStreamOptions? StreamOptions { get; init; }
}

internal sealed record ModelStreamOptions(bool IncludeUsage);

internal sealed record ModelMessage(string Role, string? Content)
{
    public string? Name { get; init; }
    public List<ModelToolCall>? ToolCalls { get; init; }
    public string? ToolCallId { get; init; }
}

internal sealed record ModelTool(ModelFunction Function)
{
    public string Type => "function";
}

internal sealed record ModelFunction(string Name, string? Description, JsonElement? Parameters);

internal sealed record ModelToolChoice(ModelFunctionName Function)
{
    public string Type => "function";
}

internal sealed record ModelFunctionName(string Name);

// What is read back, filled in field by field by ModelAnswerReader.

/// <summary>A whole answer (<c>choices[].message</c>) or one streamed chunk of one (<c>choices[].delta</c>).</summary>
internal sealed class ModelAnswer
{
    public List<ModelChoice>? Choices { get; set; }
    public ModelUsage? Usage { get; set; }
    public ModelError? Error { get; set; }

    /// <summary>Where some servers put an error's message instead of <c>error.message</c>.</summary>
    public string? Message { get; set; }
}

internal sealed class ModelChoice
{
    public ModelReply? Message { get; set; }
    public ModelReply? Delta { get; set; }
    public string? FinishReason { get; set; }
}

internal sealed class ModelReply
{
    public string? Content { get; set; }
    public string? Refusal { get; set; }
    public List<ModelToolCall>? ToolCalls { get; set; }
}

/// <summary>A tool call: sent back in an assistant message of the history, or read (in pieces, by index) from an answer.</summary>
internal sealed class ModelToolCall
{
    public int? Index { get; set; }
    public string? Id { get; set; }
    public string Type { get; set; } = "function";
    public ModelFunctionCall? Function { get; set; }
}

internal sealed class ModelFunctionCall
{
    public string? Name { get; set; }
    public string? Arguments { get; set; }
}

internal sealed class ModelUsage
{
    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }
}

internal sealed class ModelError
{
    public string? Message { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ModelRequest))]
[JsonSerializable(typeof(ModelToolChoice))]
internal sealed partial class ModelJson : JsonSerializerContext;
