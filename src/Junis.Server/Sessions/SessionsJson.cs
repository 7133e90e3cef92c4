using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.Sessions;

/// <summary>The Sessions API's types and the tool-calls column, serialized by generated code in OpenAI's snake_case.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SessionList))]
[JsonSerializable(typeof(SessionDetail))]
[JsonSerializable(typeof(MessageList))]
[JsonSerializable(typeof(SessionStatus))]
[JsonSerializable(typeof(List<ToolCallView>))]
internal sealed partial class SessionsJson : JsonSerializerContext
{
    /// <summary>Writes non-ASCII text as UTF-8 rather than <c>\uXXXX</c> escapes: the output is JSON, never HTML.</summary>
    public static SessionsJson ForResults { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
