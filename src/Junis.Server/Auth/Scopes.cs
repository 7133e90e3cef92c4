namespace Junis.Server.Auth;

/// <summary>Junis's scope names. A new key gets the default set, <see cref="All"/>, unless narrowed; <see cref="Known"/> adds those given only by name.</summary>
public static class Scopes
{
    public const string Invoke = "orchestrator:invoke";
    public const string Stream = "orchestrator:stream";
    public const string SessionsRead = "sessions:read";
    public const string SessionsMessages = "sessions:messages";
    public const string SessionsDelete = "sessions:delete";
    public const string AgentsList = "agents:list";
    public const string AgentsInvoke = "agents:invoke";
    public const string AdminRead = "admin:read";

    /// <summary>The default set, as Junis's: every scope but <see cref="AdminRead"/>.</summary>
    public static readonly IReadOnlyList<string> All = [Invoke, Stream, SessionsRead, SessionsMessages, SessionsDelete, AgentsList, AgentsInvoke];

    /// <summary>Every scope a key can hold.</summary>
    public static readonly IReadOnlyList<string> Known = [.. All, AdminRead];

    public static string Join(IEnumerable<string> scopes) => string.Join(' ', scopes);

    public static IReadOnlyList<string> Split(string scopes) => scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
