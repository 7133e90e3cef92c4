namespace Junis.Server.Auth;

/// <summary>Junis's scope names. A new key gets all of them unless narrowed.</summary>
public static class Scopes
{
    public const string Invoke = "orchestrator:invoke";
    public const string Stream = "orchestrator:stream";
    public const string SessionsRead = "sessions:read";
    public const string SessionsMessages = "sessions:messages";
    public const string SessionsDelete = "sessions:delete";

    public static readonly IReadOnlyList<string> All = [Invoke, Stream, SessionsRead, SessionsMessages, SessionsDelete];

    public static string Join(IEnumerable<string> scopes) => string.Join(' ', scopes);

    public static IReadOnlyList<string> Split(string scopes) => scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
