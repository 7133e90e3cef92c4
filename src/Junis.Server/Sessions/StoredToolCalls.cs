using System.Text.Json;
using Junis.Server.ChatCompletions;

namespace Junis.Server.Sessions;

/// <summary>Tool calls kept with a message in their OpenAI JSON form, so the Sessions API returns them as clients know them.</summary>
public static class StoredToolCalls
{
    public static string? Serialize(IReadOnlyList<ToolCall>? calls) =>
        calls is { Count: > 0 } ? JsonSerializer.Serialize(calls.ToList(), WireJson.Wire.ListToolCall) : null;

    public static IReadOnlyList<ToolCall> Parse(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize(json, WireJson.Wire.ListToolCall) ?? [];
}
