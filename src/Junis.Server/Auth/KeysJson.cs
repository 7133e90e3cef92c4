using System.Text.Json.Serialization;

namespace Junis.Server.Auth;

/// <summary>The Keys API's types, serialized by generated code in snake_case.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(KeyList))]
[JsonSerializable(typeof(KeyView))]
internal sealed partial class KeysJson : JsonSerializerContext
{
    /// <summary>With <see cref="WireOptions"/>.</summary>
    public static KeysJson ForResults { get; } = new(WireOptions.ForResults());
}
