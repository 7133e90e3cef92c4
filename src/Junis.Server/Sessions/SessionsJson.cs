using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.Sessions;

/// <summary>The Sessions API's types and the tool-calls and agent-steps columns, serialized by generated code in OpenAI's snake_case.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SessionList))]
[JsonSerializable(typeof(SessionDetail))]
[JsonSerializable(typeof(MessageList))]
[JsonSerializable(typeof(SessionStatus))]
[JsonSerializable(typeof(List<ToolCallView>))]
[JsonSerializable(typeof(List<AgentStepView>))]
internal sealed partial class SessionsJson : JsonSerializerContext
{
    /// <summary>With <see cref="WireOptions"/>.</summary>
    public static SessionsJson ForResults { get; } = new(WireOptions.ForResults());
}
