using System.Buffers;
using System.Text.Json;

namespace Junis.Server.Llm;

public sealed partial class SchemaSample
{
    /// <summary>
    /// allOf as one schema: its branches' keywords together (references followed), properties and required names
    /// joined, otherwise the later branch winning. Enough for the usual "a base object and more properties".
    /// </summary>
    private JsonElement Merge(JsonElement schema)
    {
        var keywords = new OrderedDictionary<string, JsonElement>();
        var properties = new OrderedDictionary<string, JsonElement>();
        var required = new List<string>();
        // allOf asks the same of a value however often it repeats a reference: each is merged once, which also ends cycles.
        var merged = new HashSet<string>();
        Add(schema, 0);
        return Write(keywords, properties, required);

        void Add(JsonElement part, int depth)
        {
            if (part.ValueKind != JsonValueKind.Object || depth > MaxDepth || !Spend(1))
                return;
            foreach (var keyword in part.EnumerateObject())
            {
                switch (keyword.Name, keyword.Value.ValueKind)
                {
                    case ("allOf", JsonValueKind.Array):
                        foreach (var branch in keyword.Value.EnumerateArray())
                            Add(branch, depth + 1);
                        break;
                    case ("$ref", JsonValueKind.String):
                        if (merged.Add(keyword.Value.GetString()!) && Resolve(keyword.Value.GetString()!) is { } target)
                            Add(target, depth + 1);
                        break;
                    case ("properties", JsonValueKind.Object):
                        foreach (var property in keyword.Value.EnumerateObject())
                            properties[property.Name] = property.Value;
                        break;
                    case ("required", JsonValueKind.Array):
                        foreach (var name in keyword.Value.EnumerateArray())
                        {
                            if (name.ValueKind == JsonValueKind.String && !required.Contains(name.GetString()!))
                                required.Add(name.GetString()!);
                        }
                        break;
                    default:
                        keywords[keyword.Name] = keyword.Value;
                        break;
                }
            }
        }
    }

    private static JsonElement Write(
        OrderedDictionary<string, JsonElement> keywords, OrderedDictionary<string, JsonElement> properties, List<string> required)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var (name, value) in keywords)
            {
                writer.WritePropertyName(name);
                value.WriteTo(writer);
            }
            if (properties.Count > 0)
            {
                writer.WriteStartObject("properties");
                foreach (var (name, value) in properties)
                {
                    writer.WritePropertyName(name);
                    value.WriteTo(writer);
                }
                writer.WriteEndObject();
            }
            if (required.Count > 0)
            {
                writer.WriteStartArray("required");
                foreach (var name in required)
                    writer.WriteStringValue(name);
                writer.WriteEndArray();
            }
            writer.WriteEndObject();
        }
        return JsonElement.Parse(buffer.WrittenSpan);
    }
}
