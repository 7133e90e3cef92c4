using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.Llm;

// What this server sends to and reads from an OpenAI-compatible model server: only the fields it uses.
// Anything else a provider adds to its answers is skipped unread.

internal sealed record ModelRequest(string Model, List<ModelMessage> Messages)
{
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public double? FrequencyPenalty { get; init; }
    public double? PresencePenalty { get; init; }
    public int? MaxCompletionTokens { get; init; }
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

/// <summary>A whole answer (<c>choices[].message</c>) or one streamed chunk of one (<c>choices[].delta</c>).</summary>
internal sealed record ModelAnswer(List<ModelChoice>? Choices, ModelUsage? Usage, ModelError? Error);

internal sealed record ModelChoice(int Index, ModelReply? Message, ModelReply? Delta, string? FinishReason);

internal sealed record ModelReply(string? Content, string? Refusal, List<ModelToolCall>? ToolCalls);

internal sealed record ModelToolCall(int? Index, string? Id, ModelFunctionCall? Function)
{
    public string Type => "function";
}

internal sealed record ModelFunctionCall(string? Name, string? Arguments);

internal sealed record ModelUsage(int PromptTokens, int CompletionTokens);

internal sealed record ModelError(string? Message);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ModelRequest))]
[JsonSerializable(typeof(ModelAnswer))]
[JsonSerializable(typeof(ModelToolChoice))]
internal sealed partial class ModelJson : JsonSerializerContext;
