using System.Net;
using System.Text.Json.Nodes;
using Junis.Server.Tests.Infrastructure;

namespace Junis.Server.Tests.Scaling;

/// <summary>What a client of the fleet sends and reads: turns, acknowledged or not, and the sessions they left.</summary>
public static class FleetApi
{
    public const string Sessions = "/api/external/sessions";

    /// <summary>A turn as its caller saw it. <see cref="Reply"/> is set only when the turn was acknowledged.</summary>
    public sealed record Sent(HttpStatusCode Status, Guid? Session, string? Reply)
    {
        public bool Acknowledged => Reply is not null;
    }

    /// <summary>A message as the Sessions API returns it.</summary>
    public sealed record Message(string Role, string? Content, bool Interrupted);

    /// <summary>One user message, in the conversation named <paramref name="conversation"/> (ElevenLabs' way) if given.</summary>
    public static object Turn(string text, bool stream, string? conversation = null) => conversation is null
        ? new { messages = new[] { Api.UserMessage(text) }, stream }
        : new { messages = new[] { Api.UserMessage(text) }, stream, elevenlabs_extra_body = new { conversation_id = conversation } };

    /// <summary>A whole transcript, as a client that keeps the conversation itself sends it; named <paramref name="conversation"/> if given.</summary>
    public static object Transcript(IEnumerable<Message> messages, bool stream, string? conversation = null)
    {
        var sent = messages.Select(m => new { role = m.Role, content = m.Content }).ToArray();
        return conversation is null
            ? new { messages = sent, stream }
            : new { messages = sent, stream, elevenlabs_extra_body = new { conversation_id = conversation } };
    }

    /// <summary>
    /// Sends a turn and reads its answer to the end. Acknowledged means a 200 whose whole JSON body arrived, or whose
    /// stream reached [DONE]: the server commits a turn before either.
    /// </summary>
    public static async Task<Sent> SendAsync(this HttpClient client, object body, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, Api.Completions) { Content = Api.Json(body) };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        Guid? session = response.Headers.TryGetValues("X-Session-Id", out var ids) ? Guid.Parse(ids.Single()) : null;
        if (response.StatusCode != HttpStatusCode.OK)
            return new Sent(response.StatusCode, session, null);
        if (response.Content.Headers.ContentType?.MediaType != "text/event-stream")
        {
            var completion = await response.ReadJsonAsync();
            return new Sent(response.StatusCode, session, (string?)completion["choices"]![0]!["message"]!["content"]);
        }
        var events = await response.ReadEventsAsync(cancellationToken: cancellationToken);
        if (events is not [.., "[DONE]"])
            return new Sent(response.StatusCode, session, null);
        var words = events.Chunks().Select(c => (string?)c["choices"]!.AsArray().FirstOrDefault()?["delta"]?["content"]);
        return new Sent(response.StatusCode, session, string.Concat(words));
    }

    /// <summary>A response's status, and for a 429 the room its key's minute still had by the server's own count.</summary>
    public static string Status(HttpResponseMessage response) =>
        response.StatusCode == HttpStatusCode.TooManyRequests && response.Headers.TryGetValues("X-RateLimit-Remaining-Minute", out var remaining)
            ? $"429 with {remaining.Single()} left in the minute"
            : $"{(int)response.StatusCode}";

    /// <summary>A session's messages in order (up to 100), found by its id or name; null when there is no such session.</summary>
    public static async Task<List<Message>?> MessagesAsync(this HttpClient client, string idOrName)
    {
        using var response = await client.GetAsync($"{Sessions}/{Uri.EscapeDataString(idOrName)}/messages?page_size=100");
        if (response.StatusCode == HttpStatusCode.NotFound)
            return null;
        response.EnsureSuccessStatusCode();
        var list = await response.ReadJsonAsync();
        return [.. list["messages"]!.AsArray().Select(m => new Message((string)m!["role"]!, (string?)m["content"], (bool)m["interrupted"]!))];
    }

    /// <summary>The ids of the caller's sessions (up to 100), those named <paramref name="conversation"/> if given.</summary>
    public static async Task<List<Guid>> SessionIdsAsync(this HttpClient client, string? conversation = null)
    {
        var query = conversation is null ? "" : $"&conversation_id={Uri.EscapeDataString(conversation)}";
        using var response = await client.GetAsync($"{Sessions}?page_size=100{query}");
        response.EnsureSuccessStatusCode();
        var list = await response.ReadJsonAsync();
        return [.. list["sessions"]!.AsArray().Select(s => Guid.Parse((string)s!["session_id"]!))];
    }
}
