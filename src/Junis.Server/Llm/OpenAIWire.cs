using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.Llm;

// What is read back from an OpenAI-compatible model server, filled in field by field by ModelAnswerReader (what
// is sent is written by ModelRequestWriter). Fields of a reply the server does not know are kept as written.

/// <summary>A whole answer (<c>choices[].message</c>) or one streamed chunk of one (<c>choices[].delta</c>).</summary>
internal sealed class ModelAnswer
{
    public List<ModelChoice>? Choices { get; set; }
    public string? SystemFingerprint { get; set; }
    public string? ServiceTier { get; set; }
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

    /// <summary>The choice's <c>logprobs</c> object, as written.</summary>
    public JsonElement? Logprobs { get; set; }
}

internal sealed class ModelReply
{
    public string? Content { get; set; }
    public string? Refusal { get; set; }
    public List<ModelToolCall>? ToolCalls { get; set; }

    /// <summary>The legacy single call (<c>function_call</c>), answering legacy <c>functions</c>.</summary>
    public ModelFunctionCall? FunctionCall { get; set; }

    /// <summary>Other non-null fields of the reply (<c>audio</c>, <c>annotations</c>, a server's <c>reasoning_content</c>), as written.</summary>
    public Dictionary<string, JsonElement>? OtherFields { get; set; }
}

/// <summary>A tool call read (in pieces, by index) from an answer.</summary>
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

    /// <summary><c>prompt_tokens_details</c> and <c>completion_tokens_details</c>, each count by its name there.</summary>
    public Dictionary<string, long>? Details { get; set; }
}

internal sealed class ModelError
{
    public string? Message { get; set; }
}
