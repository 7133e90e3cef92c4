using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Junis.Server.ChatCompletions;
using Junis.Server.Errors;
using Junis.Server.Sessions;

namespace Junis.Server;

/// <summary>
/// Every type that crosses the wire, serialized by generated code: snake_case names, nulls left out
/// unless the protocol wants an explicit <c>null</c> (marked on the property).
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelCard))]
[JsonSerializable(typeof(ErrorEnvelope))]
[JsonSerializable(typeof(List<ToolCall>))]
[JsonSerializable(typeof(SessionList))]
[JsonSerializable(typeof(SessionDetail))]
[JsonSerializable(typeof(MessageList))]
[JsonSerializable(typeof(SessionStatus))]
internal sealed partial class WireJson : JsonSerializerContext
{
    /// <summary>
    /// The context to serialize with: the generated default, but writing non-ASCII text
    /// (Korean replies, say) as UTF-8 rather than <c>\uXXXX</c> escapes. Safe here: responses are JSON, never HTML.
    /// </summary>
    public static WireJson Wire { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
