using System.Collections.Concurrent;
using System.Collections.Frozen;
using Junis.Server.Data;

namespace Junis.Server.Auth;

/// <summary>
/// Every usable key, in memory, by the hash of its secret: a request is authenticated without touching the
/// database. Reloaded when the keys table changes (see <see cref="ApiKeyRefresher"/>), so a key created or
/// revoked by another process takes effect within seconds. Plain SQL (see <see cref="PlainSql"/>), because it runs at
/// start-up and every two seconds.
/// </summary>
public sealed class ApiKeyDirectory(IServiceScopeFactory scopes, TimeProvider clock)
{
    private FrozenDictionary<KeyHash, Caller> _callers = FrozenDictionary<KeyHash, Caller>.Empty;
    private readonly ConcurrentDictionary<Guid, LastUse> _lastUsed = new();
    private (long Count, string? Created, string? Revoked) _version = (-1, null, null);

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
        (long Count, string? Created, string? Revoked) version;
        await using (var command = await db.CommandAsync("""SELECT COUNT(*), MAX("CreatedAt"), MAX("RevokedAt") FROM "ApiKeys" """, cancellationToken))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            version = (reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
        }
        if (version == _version)
            return;

        var callers = new Dictionary<KeyHash, Caller>();
        await using (var command = await db.CommandAsync(
            """SELECT "Id", "OrganizationId", "Name", "Prefix", "SecretHash", "Scopes", "PerMinute", "PerHour", "ExpiresAt" FROM "ApiKeys" WHERE "RevokedAt" IS NULL""",
            cancellationToken))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = new ApiKey
                {
                    Id = reader.GetGuid(0),
                    OrganizationId = reader.GetGuid(1),
                    Name = reader.GetString(2),
                    Prefix = reader.GetString(3),
                    SecretHash = reader.GetFieldValue<byte[]>(4),
                    Scopes = reader.GetString(5),
                    PerMinute = reader.IsDBNull(6) ? null : reader.GetInt32(6),
                    PerHour = reader.IsDBNull(7) ? null : reader.GetInt32(7),
                    ExpiresAt = reader.GetUtcDateTime(8),
                };
                var hash = KeyHash.From(key.SecretHash);
                callers[hash] = new Caller(key, hash);
            }
        }
        _callers = callers.ToFrozenDictionary();
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
            await using var command = (await db.CommandAsync(
                """UPDATE "ApiKeys" SET "LastUsedAt" = @at WHERE "Id" = @id AND ("LastUsedAt" IS NULL OR "LastUsedAt" < @at)""", cancellationToken))
                .Bind(db, "@at", use.At).Bind(db, "@id", keyId);
            await command.ExecuteNonQueryAsync(cancellationToken);
            _lastUsed.TryUpdate(keyId, use with { Written = true }, use);
        }
    }

    private readonly record struct LastUse(DateTime At, bool Written);
}
