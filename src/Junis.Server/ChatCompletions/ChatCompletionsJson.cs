using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.ChatCompletions;

/// <summary>
/// The chat completions wire, serialized by generated code: snake_case names, nulls left out unless the protocol
/// wants an explicit <c>null</c> (marked on the property).
/// </summary>
/// <remarks>
/// Two instances: <see cref="ForResults"/> for results (see <see cref="WireOptions"/>); <c>Default</c>, whose options
/// are the generated ones, for a <see cref="Utf8JsonWriter"/> that brings the encoder itself, so the generated code
/// writes each chunk directly (bench/ANALYSIS.md, "Figures behind the code").
/// </remarks>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatCompletionRequest))]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ModelCard))]
internal sealed partial class ChatCompletionsJson : JsonSerializerContext
{
    public static ChatCompletionsJson ForResults { get; } = new(WireOptions.ForResults());
}
