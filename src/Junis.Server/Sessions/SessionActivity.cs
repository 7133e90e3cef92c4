using System.Collections.Concurrent;

namespace Junis.Server.Sessions;

/// <summary>
/// Which sessions have a turn in progress on this server, for the status endpoint. A new session is here
/// before its first turn is stored, so it is known by the id its caller was given from the first byte.
/// </summary>
public sealed class SessionActivity
{
    private readonly ConcurrentDictionary<Guid, Turns> _turns = new();

    /// <summary>Whether the session has a turn in progress; <paramref name="organization"/> keeps another tenant's ids unknown.</summary>
    public bool IsProcessing(Guid sessionId, Guid organization) =>
        _turns.TryGetValue(sessionId, out var turns) && turns.Organization == organization;

    public void Begin(Guid sessionId, Guid organization) =>
        _turns.AddOrUpdate(sessionId, new Turns(organization, 1), static (_, turns) => turns with { Count = turns.Count + 1 });

    public void End(Guid sessionId)
    {
        while (_turns.TryGetValue(sessionId, out var turns))
        {
            if (turns.Count == 1 ? _turns.TryRemove(new KeyValuePair<Guid, Turns>(sessionId, turns)) : _turns.TryUpdate(sessionId, turns with { Count = turns.Count - 1 }, turns))
                return;
        }
    }

    private sealed record Turns(Guid Organization, int Count);
}
