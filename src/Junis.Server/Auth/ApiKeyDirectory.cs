using System.Collections.Concurrent;
using System.Collections.Frozen;
using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Auth;

/// <summary>
/// Every usable key, in memory, by the hash of its secret: a request is authenticated without touching the
/// database. Reloaded when the keys table changes (see <see cref="ApiKeyRefresher"/>), so a key created or
/// revoked by another process takes effect within seconds.
/// </summary>
public sealed class ApiKeyDirectory(IServiceScopeFactory scopes, TimeProvider clock)
{
    private FrozenDictionary<KeyHash, Caller> _callers = FrozenDictionary<KeyHash, Caller>.Empty;
    private readonly ConcurrentDictionary<Guid, LastUse> _lastUsed = new();
    private (int Count, DateTime? Created, DateTime? Revoked) _version = (-1, null, null);

    public bool TryFind(KeyHash hash, out Caller caller)
    {
        if (_callers.TryGetValue(hash, out caller!) && caller.Hash.FixedTimeEquals(hash)
            && (caller.ExpiresAt is not { } expires || expires > clock.GetUtcNow().UtcDateTime))
        {
            return true;
        }
        caller = null!;
        return false;
    }

    /// <summary>Notes a use in memory; <see cref="FlushLastUsedAsync"/> writes it down now and then.</summary>
    public void MarkUsed(Caller caller)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        // At most one note a minute per key: the column is coarse on purpose.
        if (!_lastUsed.TryGetValue(caller.KeyId, out var last) || now - last.At >= TimeSpan.FromMinutes(1))
            _lastUsed[caller.KeyId] = new LastUse(now, Written: false);
    }

    /// <summary>Reloads the keys when the table has changed since the last look.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
        var keys = db.ApiKeys.AsNoTracking();
        var version = (await keys.CountAsync(cancellationToken),
            await keys.MaxAsync(k => (DateTime?)k.CreatedAt, cancellationToken),
            await keys.MaxAsync(k => k.RevokedAt, cancellationToken));
        if (version == _version)
            return;

        var usable = await keys.Where(k => k.RevokedAt == null).ToListAsync(cancellationToken);
        _callers = usable
            .Select(k => new Caller(k, KeyHash.From(k.SecretHash)))
            .ToFrozenDictionary(c => c.Hash);
        _version = version;
    }

    public async Task FlushLastUsedAsync(CancellationToken cancellationToken)
    {
        var unwritten = _lastUsed.Where(u => !u.Value.Written).ToList();
        if (unwritten.Count == 0)
            return;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
        foreach (var (keyId, use) in unwritten)
        {
            await db.ApiKeys.Where(k => k.Id == keyId && (k.LastUsedAt == null || k.LastUsedAt < use.At))
                .ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, use.At), cancellationToken);
            _lastUsed.TryUpdate(keyId, use with { Written = true }, use);
        }
    }

    private readonly record struct LastUse(DateTime At, bool Written);
}
