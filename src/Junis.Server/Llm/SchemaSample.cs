using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Junis.Server.Llm;

/// <summary>
/// The smallest JSON value that a JSON Schema accepts, with every string filled with a given text: what Echo answers
/// for a structured output or a forced tool call. It covers what clients send in practice (OpenAI strict schemas, zod,
/// .NET's schema exporter), not every corner of the standard; where it cannot satisfy a keyword it does its best.
/// </summary>
public sealed partial class SchemaSample
{
    // Written as a model writes: characters as they are, not \u escapes (except outside the Basic Multilingual Plane,
    // which .NET's encoders always escape). Quotes, backslashes and control characters are escaped as JSON needs.
    private static readonly JsonSerializerOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // A schema is the caller's: a hostile one could ask for a billion items or nest references without end. Every value,
    // character and merged branch costs one unit of this budget, and nesting is bounded, so that a sample stays small
    // (100 kB at most) and quick (well under a second at worst).
    private const int Budget = 100_000;
    private const int MaxDepth = 64;

    private readonly JsonElement _root;
    private readonly string _text;
    private readonly HashSet<string> _expanding = [];
    private int _budget = Budget;
    private int _depth;

    private SchemaSample(JsonElement root, string text) => (_root, _text) = (root, text);

    /// <summary>The sample as JSON text; <c>null</c> when no finite value satisfies the schema.</summary>
    public static string Json(JsonElement schema, string text)
    {
        var sample = new SchemaSample(schema, text);
        return sample.TryValue(schema, out var value) && value is not null ? value.ToJsonString(Output) : "null";
    }

    private bool TryValue(JsonElement schema, out JsonNode? value)
    {
        value = null;
        if (_depth >= MaxDepth || !Spend(1))
            return false;
        _depth++;
        try
        {
            return TryValueWithin(schema, out value);
        }
        finally
        {
            _depth--;
        }
    }

    private bool TryValueWithin(JsonElement schema, out JsonNode? value)
    {
        value = null;
        switch (schema.ValueKind)
        {
            case JsonValueKind.False:
                return false;
            case not JsonValueKind.Object:
                value = _text; // `true`, or something that is no schema: anything goes, so the text.
                return true;
        }
        // A reference stands for its target; keywords beside it (newer drafts allow them) are rare enough to leave out.
        if (schema.TryGetProperty("$ref", out var reference) && reference.ValueKind == JsonValueKind.String)
            return TryReference(reference.GetString()!, out value);
        if (schema.TryGetProperty("const", out var constant))
        {
            value = JsonNode.Parse(constant.GetRawText());
            return true;
        }
        if (schema.TryGetProperty("enum", out var options) && options.ValueKind == JsonValueKind.Array && options.GetArrayLength() > 0)
        {
            value = JsonNode.Parse(options[0].GetRawText());
            return true;
        }
        if (schema.TryGetProperty("allOf", out var all) && all.ValueKind == JsonValueKind.Array)
            return TryValue(Merge(schema), out value);
        if (Branches(schema) is { } branches)
            return TryFirst(branches, out value);
        return TryTypes(schema, out value);
    }

    /// <summary>
    /// Only references within the schema (<c>#</c>, <c>#/$defs/…</c>, <c>#/definitions/…</c>, any JSON pointer). A
    /// reference met again while it is being expanded is recursion: it fails, so that the caller falls back to a
    /// branch without it (null, an empty array, an optional property left out).
    /// </summary>
    private bool TryReference(string reference, out JsonNode? value)
    {
        value = null;
        if (Resolve(reference) is not { } target)
        {
            value = _text; // A reference to another document: unknown, so anything goes.
            return true;
        }
        if (!_expanding.Add(reference))
            return false;
        try
        {
            return TryValue(target, out value);
        }
        finally
        {
            _expanding.Remove(reference);
        }
    }

    private JsonElement? Resolve(string reference)
    {
        if (!reference.StartsWith('#'))
            return null;
        var target = _root;
        foreach (var token in Uri.UnescapeDataString(reference[1..]).Split('/').Skip(1))
        {
            var name = token.Replace("~1", "/").Replace("~0", "~");
            if (target.ValueKind == JsonValueKind.Object && target.TryGetProperty(name, out var child))
                target = child;
            else if (target.ValueKind == JsonValueKind.Array && int.TryParse(name, out var index) && index < target.GetArrayLength())
                target = target[index];
            else
                return null;
        }
        return target;
    }

    /// <summary>
    /// anyOf/oneOf branches in the order to try them: those that allow more than null first, as a model fills a
    /// nullable field. (For oneOf the first fitting branch may match others too; real schemas rarely overlap.)
    /// </summary>
    private static List<JsonElement>? Branches(JsonElement schema)
    {
        if (!schema.TryGetProperty("anyOf", out var branches) && !schema.TryGetProperty("oneOf", out branches)
            || branches.ValueKind != JsonValueKind.Array)
            return null;
        var all = branches.EnumerateArray().ToList();
        return [.. all.Where(b => !IsNullOnly(b)), .. all.Where(IsNullOnly)];
    }

    private static bool IsNullOnly(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("type", out var type)
        && type.ValueKind == JsonValueKind.String && type.ValueEquals("null");

    private bool TryFirst(List<JsonElement> schemas, out JsonNode? value)
    {
        foreach (var schema in schemas)
        {
            if (TryValue(schema, out value))
                return true;
        }
        value = null;
        return false;
    }

    /// <summary>Tries the types the schema allows, non-null ones first; without <c>type</c>, the one its keywords imply.</summary>
    private bool TryTypes(JsonElement schema, out JsonNode? value)
    {
        var types = Types(schema);
        for (var i = 0; i < types.Count; i++)
        {
            switch (types[i])
            {
                case "object" when TryObject(schema, out value):
                case "array" when TryArray(schema, out value):
                // A pattern the text cannot meet makes another allowed type the better answer, if there is one.
                case "string" when TryString(schema, mustMatch: i < types.Count - 1, out value):
                    return true;
                case "number" or "integer":
                    value = Number(schema, integer: types[i] == "integer");
                    return true;
                case "boolean":
                    value = false;
                    return true;
                case "null":
                    value = null;
                    return true;
            }
        }
        value = null;
        return false;
    }

    private static List<string> Types(JsonElement schema)
    {
        if (schema.TryGetProperty("type", out var type))
        {
            List<string> named = type.ValueKind switch
            {
                JsonValueKind.String => [type.GetString()!],
                JsonValueKind.Array => [.. type.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()!)],
                _ => [],
            };
            return [.. named.Where(t => t != "null"), .. named.Where(t => t == "null")];
        }
        if (HasAny(schema, "properties", "required", "additionalProperties", "patternProperties"))
            return ["object"];
        if (HasAny(schema, "items", "prefixItems", "minItems", "maxItems"))
            return ["array"];
        if (HasAny(schema, "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"))
            return ["number"];
        return ["string"]; // Length, pattern, format, or nothing at all: a string accepts the text.
    }

    private static bool HasAny(JsonElement schema, params string[] keywords) =>
        keywords.Any(keyword => schema.TryGetProperty(keyword, out _));

    private bool Spend(int units)
    {
        if (units > _budget)
        {
            _budget = 0;
            return false;
        }
        _budget -= units;
        return true;
    }
}
