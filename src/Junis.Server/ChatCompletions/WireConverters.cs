using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Junis.Server.ChatCompletions;

/// <summary>
/// A request value with the right JSON type but a shape the protocol does not allow. Its message is written
/// for the caller; the serializer adds the path, which becomes the error's <c>param</c>.
/// </summary>
public sealed class WireFormatException(string message) : JsonException(message);

/// <summary><c>content</c>: a string, or an array of <c>{"type":"text","text":…}</c> parts.</summary>
public sealed class MessageContentConverter : JsonConverter<string?>
{
    public override bool HandleNull => true;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return reader.GetString();
            case JsonTokenType.StartArray:
                var text = new StringBuilder();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject)
                        throw new WireFormatException("Each content part must be an object like {\"type\":\"text\",\"text\":\"…\"}.");
                    text.Append(ReadTextPart(ref reader));
                }
                return text.ToString();
            default:
                throw new WireFormatException("'content' must be a string or an array of text parts.");
        }
    }

    private static string ReadTextPart(ref Utf8JsonReader reader)
    {
        string? type = null, text = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var name = reader.GetString();
            reader.Read();
            switch (name)
            {
                case "type" when reader.TokenType == JsonTokenType.String:
                    type = reader.GetString();
                    break;
                case "text" when reader.TokenType == JsonTokenType.String:
                    text = reader.GetString();
                    break;
                case "type" or "text":
                    throw new WireFormatException($"Content part field '{name}' must be a string.");
                default:
                    reader.Skip();
                    break;
            }
        }
        if (type != "text")
            throw new WireFormatException($"Content part type '{type ?? "(missing)"}' is not supported; only 'text' parts are.");
        return text ?? throw new WireFormatException("A text content part needs a 'text' string.");
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value);
}

/// <summary><c>stop</c>: one string or an array of strings.</summary>
public sealed class StopSequencesConverter : JsonConverter<List<string>?>
{
    public override List<string>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
            return [reader.GetString()!];
        if (reader.TokenType != JsonTokenType.StartArray)
            throw new WireFormatException("'stop' must be a string or an array of strings.");

        var stops = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.String)
                throw new WireFormatException("'stop' must be a string or an array of strings.");
            stops.Add(reader.GetString()!);
        }
        return stops;
    }

    public override void Write(Utf8JsonWriter writer, List<string>? value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var stop in value ?? [])
            writer.WriteStringValue(stop);
        writer.WriteEndArray();
    }
}

/// <summary><c>tool_choice</c>: <c>"none"|"auto"|"required"</c> or <c>{"type":"function","function":{"name":…}}</c>.</summary>
public sealed class ToolChoiceConverter : JsonConverter<ToolChoice?>
{
    public override ToolChoice? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString() switch
            {
                ToolChoice.None => new ToolChoice(ToolChoice.None),
                ToolChoice.Auto => new ToolChoice(ToolChoice.Auto),
                ToolChoice.Required => new ToolChoice(ToolChoice.Required),
                var other => throw new WireFormatException($"'tool_choice' must be 'none', 'auto', 'required' or a function object, not '{other}'."),
            };
        }
        if (reader.TokenType != JsonTokenType.StartObject)
            throw new WireFormatException("'tool_choice' must be a string or an object.");

        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object
            && function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
            && (!root.TryGetProperty("type", out var type) || type.ValueEquals(ToolChoice.Function)))
        {
            return new ToolChoice(ToolChoice.Function, name.GetString());
        }
        throw new WireFormatException("'tool_choice' object must be {\"type\":\"function\",\"function\":{\"name\":\"…\"}}.");
    }

    public override void Write(Utf8JsonWriter writer, ToolChoice? value, JsonSerializerOptions options)
    {
        if (value is null) writer.WriteNullValue();
        else if (value.FunctionName is null) writer.WriteStringValue(value.Mode);
        else
        {
            writer.WriteStartObject();
            writer.WriteString("type", ToolChoice.Function);
            writer.WritePropertyName("function");
            writer.WriteStartObject();
            writer.WriteString("name", value.FunctionName);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
    }
}
