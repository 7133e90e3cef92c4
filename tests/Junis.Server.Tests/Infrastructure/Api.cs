using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Junis.Server.Tests.Infrastructure;

/// <summary>Small helpers for talking to the API the way a client would.</summary>
public static class Api
{
    public const string Completions = "/api/external/v1/chat/completions";

    public static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    public static StringContent Json(object body) => Json(JsonSerializer.Serialize(body));

    public static Task<HttpResponseMessage> PostCompletionAsync(this HttpClient client, object body, CancellationToken cancellationToken = default) =>
        client.PostAsync(Completions, Json(body), cancellationToken);

    public static Task<HttpResponseMessage> PostCompletionAsync(this HttpClient client, string json, CancellationToken cancellationToken = default) =>
        client.PostAsync(Completions, Json(json), cancellationToken);

    public static async Task<JsonNode> ReadJsonAsync(this HttpResponseMessage response) =>
        JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

    /// <summary>
    /// The data of each server-sent event, in order, read with the framework's own SSE parser; <paramref name="onEvent"/>
    /// sees each as it arrives (when the response was sent with its headers only).
    /// </summary>
    public static async Task<List<string>> ReadEventsAsync(this HttpResponseMessage response, Action<string>? onEvent = null,
        CancellationToken cancellationToken = default)
    {
        var events = new List<string>();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        await foreach (var item in SseParser.Create(body).EnumerateAsync(cancellationToken))
        {
            events.Add(item.Data);
            onEvent?.Invoke(item.Data);
        }
        return events;
    }

    /// <summary>The JSON events of a stream, without the closing <c>[DONE]</c>.</summary>
    public static List<JsonNode> Chunks(this IEnumerable<string> events) =>
        events.Where(e => e != "[DONE]").Select(e => JsonNode.Parse(e)!).ToList();

    public static object UserMessage(string text) => new { role = "user", content = text };
}
