using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Junis.Server.Llm;

/// <summary>
/// A function tool as the caller declared it. Any model reads its name, description and schema; a model that speaks
/// OpenAI's protocol is sent the declaration as written: the parameters only if there were any, and <c>strict</c>
/// and any other field of the declaration (in <see cref="AdditionalProperties"/>).
/// </summary>
public sealed class DeclaredFunction(string name, string? description, JsonElement? parameters, IReadOnlyDictionary<string, object?> otherFields)
    : AIFunctionDeclaration
{
    private static readonly JsonElement NoParameters = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;

    public override string Name => name;
    public override string Description => description ?? "";
    public override JsonElement JsonSchema => parameters ?? NoParameters;
    public override IReadOnlyDictionary<string, object?> AdditionalProperties => otherFields;

    /// <summary>The caller's own description, which may be absent (unlike <see cref="Description"/>).</summary>
    public string? DeclaredDescription => description;

    /// <summary>The parameters' schema as declared; null when the declaration had none.</summary>
    public JsonElement? Parameters => parameters;
}
