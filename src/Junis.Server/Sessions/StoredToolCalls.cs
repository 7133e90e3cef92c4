using System.Text.Json;
using Junis.Server.Llm;
using Microsoft.Extensions.AI;

namespace Junis.Server.Sessions;

/// <summary>
/// Tool calls kept with a message in OpenAI's JSON form (<c>[{"id","type":"function","function":{"name","arguments"}}]</c>),
/// so the Sessions API returns them as clients know them.
/// </summary>
public static class StoredToolCalls
{
    public static string? Serialize(IReadOnlyList<StoredToolCall>? calls) =>
        calls is { Count: > 0 } ? JsonSerializer.Serialize([.. calls.Select(ToolCallView.Of)], SessionsJson.ForResults.ListToolCallView) : null;

    public static List<ToolCallView> Parse(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize(json, SessionsJson.ForResults.ListToolCallView) ?? [];
}

/// <summary>A message's content parts kept as their OpenAI JSON array, when they hold more than text.</summary>
public static class StoredParts
{
    // Text as UTF-8, not \uXXXX escapes: the column holds JSON, never HTML.
    private static readonly JsonWriterOptions AsWritten = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string? Serialize(IReadOnlyList<JsonElement>? parts)
    {
        if (parts is not { Count: > 0 })
            return null;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, AsWritten))
        {
            json.WriteStartArray();
            foreach (var part in parts)
                part.WriteTo(json);
            json.WriteEndArray();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The parts as contents for the model, each holding its JSON as written; null when none were kept.</summary>
    public static List<AIContent>? Parse(string? json)
    {
        if (string.IsNullOrEmpty(json))
            return null;
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(part => ContentParts.ToContent(part.Clone()))];
    }
}
