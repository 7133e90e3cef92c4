using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.Errors;

/// <summary>The error envelope, serialized by generated code; <see cref="ForResults"/> writes text as UTF-8, not escapes.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ErrorEnvelope))]
internal sealed partial class ErrorsJson : JsonSerializerContext
{
    public static ErrorsJson ForResults { get; } = new(WireOptions.ForResults());
}
