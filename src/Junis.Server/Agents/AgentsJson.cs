using System.Text.Json.Serialization;

namespace Junis.Server.Agents;

[JsonSerializable(typeof(string[]))]
internal sealed partial class AgentsJson : JsonSerializerContext;
