using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.ChatCompletions;

/// <summary>
/// A request value with the right JSON type but a shape the protocol does not allow. Its message is written
/// for the caller; the serializer adds the path, which becomes the error's <c>param</c>.
/// </summary>
public sealed class WireFormatException(string message) : JsonException(message);

/// <summary><c>content</c>: a string, or an array of content parts (text, images, audio, files).</summary>
public sealed class MessageContentConverter : JsonConverter<MessageContent?>
{
    public override bool HandleNull => true;

    public override MessageContent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return new MessageContent(reader.GetString()!);
            case JsonTokenType.StartArray:
                var text = new StringBuilder();
                var parts = new List<AIContent>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    AIContent part;
                    try
                    {
                        part = ContentParts.ToContent(JsonElement.ParseValue(ref reader));
                    }
                    catch (FormatException e)
                    {
                        throw new WireFormatException(e.Message);
                    }
                    if (part is TextContent words)
                        text.Append(words.Text);
                    parts.Add(part);
                }
                return new MessageContent(text.ToString(), parts);
            default:
                throw new WireFormatException("'content' must be a string or an array of content parts.");
        }
    }

    public override void Write(Utf8JsonWriter writer, MessageContent? value, JsonSerializerOptions options)
    {
        if (value?.Parts is not { } parts)
        {
            writer.WriteStringValue(value?.Text);
            return;
        }
        writer.WriteStartArray();
        foreach (var part in parts)
            ContentParts.RawPart(part)?.WriteTo(writer);
        writer.WriteEndArray();
    }
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
        if (root.TryGetProperty("type", out var kind) && kind.ValueEquals(ToolChoice.Allowed)
            && root.TryGetProperty(ToolChoice.Allowed, out var allowed) && allowed.ValueKind == JsonValueKind.Object
            && allowed.TryGetProperty("mode", out var mode) && (mode.ValueEquals(ToolChoice.Auto) || mode.ValueEquals(ToolChoice.Required))
            && allowed.TryGetProperty("tools", out var tools) && tools.ValueKind == JsonValueKind.Array)
        {
            return new ToolChoice(ToolChoice.Allowed, AllowedTools: root.Clone());
        }
        throw new WireFormatException(
            "'tool_choice' object must be {\"type\":\"function\",\"function\":{\"name\":\"…\"}} or {\"type\":\"allowed_tools\",\"allowed_tools\":{\"mode\":\"auto\"|\"required\",\"tools\":[…]}}.");
    }

    public override void Write(Utf8JsonWriter writer, ToolChoice? value, JsonSerializerOptions options)
    {
        if (value is null) writer.WriteNullValue();
        else if (value.AllowedTools is { } allowed) allowed.WriteTo(writer);
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
