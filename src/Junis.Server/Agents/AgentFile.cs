using System.Text.Json;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Junis.Server.Agents;

/// <summary>
/// An organization's agents as code: the file <c>agents export</c> writes and <c>agents import</c> applies, in JSON or
/// YAML, with the Agents API's field names. A field the file format does not know is an error, not ignored.
/// </summary>
public sealed class AgentFile
{
    public List<AgentSpec> Agents { get; set; } = [];

    public static AgentFile Of(IEnumerable<Agent> agents) => new() { Agents = [.. agents.OrderBy(a => a.Name, StringComparer.Ordinal).Select(AgentSpec.Of)] };

    public string ToJson() => JsonSerializer.Serialize(this, AgentsJson.Files.AgentFile);

    public string ToYaml() => new SerializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull).Build().Serialize(this);

    /// <summary>The file's agents, or why it cannot be read: YAML when its name ends in .yaml or .yml, JSON otherwise.</summary>
    public static (AgentFile? File, string? Error) Read(string path, string text)
    {
        try
        {
            var file = path.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".yml", StringComparison.OrdinalIgnoreCase)
                ? new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build().Deserialize<AgentFile?>(text)
                : JsonSerializer.Deserialize(text, AgentsJson.Files.AgentFile);
            return file is null ? (null, "the file holds no agents object.") : (file, null);
        }
        catch (Exception e) when (e is JsonException or YamlException)
        {
            return (null, e.Message);
        }
    }
}

/// <summary>One agent of an <see cref="AgentFile"/>: every field but its id and times, which the database keeps.</summary>
public sealed class AgentSpec
{
    public string Name { get; set; } = "";
    public string? Description { get; set; }
    public string AgentType { get; set; } = AgentTypes.Llm;
    public string Provider { get; set; } = "default";
    public string? Model { get; set; }
    public double? Temperature { get; set; }
    public int? MaxOutputTokens { get; set; }
    public int? MaxLlmCalls { get; set; }
    public string Instruction { get; set; } = "";
    public List<string> SubAgents { get; set; } = [];
    public string? OutputKey { get; set; }
    public int? MaxIterations { get; set; }
    public bool IsActive { get; set; } = true;
    public bool IsOrchestrator { get; set; }

    public static AgentSpec Of(Agent agent) => new()
    {
        Name = agent.Name, Description = agent.Description, AgentType = agent.AgentType, Provider = agent.Provider, Model = agent.Model,
        Temperature = agent.Temperature, MaxOutputTokens = agent.MaxOutputTokens, MaxLlmCalls = agent.MaxLlmCalls,
        Instruction = agent.Instruction, SubAgents = [.. agent.SubAgentNames()], OutputKey = agent.OutputKey,
        MaxIterations = agent.MaxIterations, IsActive = agent.IsActive, IsOrchestrator = agent.IsOrchestrator,
    };

    /// <summary>Writes this spec onto <paramref name="agent"/>, a new one or the stored one of the same name.</summary>
    public void ApplyTo(Agent agent)
    {
        (agent.Name, agent.Description, agent.AgentType, agent.Provider, agent.Model) = (Name, Description, AgentType, Provider, Model);
        (agent.Temperature, agent.MaxOutputTokens, agent.MaxLlmCalls, agent.Instruction) = (Temperature, MaxOutputTokens, MaxLlmCalls, Instruction);
        (agent.SubAgents, agent.OutputKey, agent.MaxIterations) = (Agent.SubAgentsOf(SubAgents), OutputKey, MaxIterations);
        (agent.IsActive, agent.IsOrchestrator) = (IsActive, IsOrchestrator);
    }
}
