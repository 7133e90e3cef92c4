using System.Text.Json.Serialization;

namespace Junis.Server.Usage;

/// <summary>The usage report, serialized by generated code in snake_case.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UsageReport))]
internal sealed partial class UsageJson : JsonSerializerContext
{
    /// <summary>With <see cref="WireOptions"/>.</summary>
    public static UsageJson ForResults { get; } = new(WireOptions.ForResults());
}
