using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.Agents;

/// <summary>The Agents API's types and the sub-agents column, serialized by generated code in Junis's snake_case.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(AgentList))]
[JsonSerializable(typeof(AgentDetail))]
[JsonSerializable(typeof(AgentFile))]
internal sealed partial class AgentsJson : JsonSerializerContext
{
    /// <summary>With <see cref="WireOptions"/>.</summary>
    public static AgentsJson ForResults { get; } = new(WireOptions.ForResults());

    /// <summary>For agent files: indented for people to read and edit, and refusing a field it does not know.</summary>
    public static AgentsJson Files { get; } = new(new JsonSerializerOptions(ForResults.Options)
    {
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    });
}
