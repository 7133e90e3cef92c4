using System.Collections.Concurrent;

namespace Junis.Server.Sessions;

/// <summary>Which sessions have a turn in progress on this server, for the status endpoint.</summary>
public sealed class SessionActivity
{
    private readonly ConcurrentDictionary<Guid, int> _turns = new();

    public bool IsProcessing(Guid sessionId) => _turns.ContainsKey(sessionId);

    public void Begin(Guid sessionId) => _turns.AddOrUpdate(sessionId, 1, static (_, count) => count + 1);

    public void End(Guid sessionId)
    {
        while (_turns.TryGetValue(sessionId, out var count))
        {
            if (count == 1 ? _turns.TryRemove(new KeyValuePair<Guid, int>(sessionId, 1)) : _turns.TryUpdate(sessionId, count - 1, count))
                return;
        }
    }
}
