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

    /// <summary>
    /// Posts a streaming request and reads what comes back until the stream ends, however it ends: the events that
    /// arrived, and the exception that broke the connection (null when the response ended cleanly). A stream the
    /// server breaks off after an error event ends with such an exception, as it does for every HTTP client.
    /// </summary>
    public static async Task<(HttpResponseMessage Response, List<string> Events, Exception? Broken)> StreamAsync(
        this HttpClient client, object body, Action<string>? onEvent = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, Completions) { Content = body as HttpContent ?? Json(body) };
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var events = new List<string>();
        try
        {
            await response.ReadEventsAsync(data =>
            {
                events.Add(data);
                onEvent?.Invoke(data);
            });
            return (response, events, null);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return (response, events, e);
        }
    }

    /// <summary>The JSON events of a stream, without the closing <c>[DONE]</c>.</summary>
    public static List<JsonNode> Chunks(this IEnumerable<string> events) =>
        events.Where(e => e != "[DONE]").Select(e => JsonNode.Parse(e)!).ToList();

    public static object UserMessage(string text) => new { role = "user", content = text };
}
