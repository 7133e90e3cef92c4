using System.Collections.Concurrent;
using Junis.Server.Sessions.PostgreSql;

namespace Junis.Server.Sessions;

/// <summary>
/// Which sessions have a turn in progress, for the status endpoint. A new session is here before its first turn is
/// stored, so it is known by the id its caller was given from the first byte. Turns running on this instance are
/// known from memory; on PostgreSQL, those of every other instance sharing the database as well (<see cref="SharedSessionActivity"/>).
/// </summary>
public sealed class SessionActivity(SharedSessionActivity? shared = null) : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, Turns> _turns = new();

    /// <summary>Whether the session has a turn in progress; <paramref name="organization"/> keeps another tenant's ids unknown.</summary>
    public async ValueTask<bool> IsProcessingAsync(Guid sessionId, Guid organization, CancellationToken cancellationToken) =>
        (_turns.TryGetValue(sessionId, out var turns) && turns.Organization == organization)
        || (shared is not null && await shared.IsProcessingAsync(sessionId, organization, cancellationToken));

    public void Begin(Guid sessionId, Guid organization)
    {
        _turns.AddOrUpdate(sessionId, new Turns(organization, 1), static (_, turns) => turns with { Count = turns.Count + 1 });
        shared?.Begin(sessionId, organization);
    }

    public void End(Guid sessionId, Guid organization)
    {
        shared?.End(sessionId, organization);
        while (_turns.TryGetValue(sessionId, out var turns))
        {
            if (turns.Count == 1 ? _turns.TryRemove(new KeyValuePair<Guid, Turns>(sessionId, turns)) : _turns.TryUpdate(sessionId, turns with { Count = turns.Count - 1 }, turns))
                return;
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => shared?.RunAsync(stoppingToken) ?? Task.CompletedTask;

    private sealed record Turns(Guid Organization, int Count);
}
