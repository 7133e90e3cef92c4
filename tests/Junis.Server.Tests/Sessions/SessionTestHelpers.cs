using System.Text.Json.Nodes;
using Junis.Server.Sessions;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Tests.Sessions;

/// <summary>Turns and what they left in the database, for the session tests.</summary>
public static class SessionTestHelpers
{
    /// <summary>Sends a turn and returns the session it went to and the reply's text.</summary>
    public static async Task<(Guid Session, string Reply)> TurnAsync(this HttpClient client, object body)
    {
        using var response = await client.PostCompletionAsync(body);
        response.EnsureSuccessStatusCode();
        var session = Guid.Parse(response.Headers.GetValues("X-Session-Id").Single());
        var json = await response.ReadJsonAsync();
        return (session, (string?)json["choices"]![0]!["message"]!["content"] ?? "");
    }

    public static object[] Conversation(params (string Role, string Content)[] messages) =>
        [.. messages.Select(m => new { role = m.Role, content = m.Content })];

    public static Task<List<SessionMessage>> MessagesAsync(this JunisApp app, Guid session) =>
        app.QueryAsync(db => db.SessionMessages.Where(m => m.SessionId == session).OrderBy(m => m.Sequence).ToListAsync());

    public static Task<List<Session>> SessionsAsync(this JunisApp app) =>
        app.QueryAsync(db => db.Sessions.OrderBy(s => s.CreatedAt).ToListAsync());

    public static string[] Transcript(this IEnumerable<SessionMessage> messages) =>
        [.. messages.Select(m => $"{m.Role}:{m.Content}")];

    /// <summary>
    /// A one-message turn of the conversation named <paramref name="name"/>, by ElevenLabs'
    /// <c>elevenlabs_extra_body.conversation_id</c> (<paramref name="naming"/> "conversation_id") or a top-level "session_id".
    /// </summary>
    public static object NamedTurn(string naming, string name, string text, bool stream = false) => naming switch
    {
        "conversation_id" => new { messages = Conversation(("user", text)), elevenlabs_extra_body = new { conversation_id = name }, stream },
        "session_id" => new { messages = Conversation(("user", text)), session_id = name, stream },
        _ => throw new ArgumentOutOfRangeException(nameof(naming), naming, "conversation_id or session_id"),
    };

    public static JsonObject ConversationId(string id) => new() { ["elevenlabs_extra_body"] = new JsonObject { ["conversation_id"] = id } };
}
