using System.Collections.Concurrent;
using System.Collections.Frozen;
using Junis.Server.Auth.Storage;

namespace Junis.Server.Auth;

/// <summary>
/// Every usable key, in memory, by the hash of its secret: a request is authenticated without touching the
/// database. Reloaded when the keys change (see <see cref="ApiKeyRefresher"/>), so a key created or revoked by
/// another process takes effect within a second.
/// </summary>
public sealed class ApiKeyDirectory(IApiKeyStore store, TimeProvider clock)
{
    private FrozenDictionary<KeyHash, Caller> _callers = FrozenDictionary<KeyHash, Caller>.Empty;
    private readonly ConcurrentDictionary<Guid, LastUse> _lastUsed = new();
    private KeysVersion? _version;

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

    /// <summary>Reloads the keys when they have changed since the last look.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var version = await store.VersionAsync(cancellationToken);
        if (version == _version)
            return;
        var callers = new Dictionary<KeyHash, Caller>();
        foreach (var key in await store.UsableKeysAsync(cancellationToken))
        {
            var hash = KeyHash.From(key.SecretHash);
            callers[hash] = new Caller(key, hash);
        }
        _callers = callers.ToFrozenDictionary();
        _version = version;
    }

    public async Task FlushLastUsedAsync(CancellationToken cancellationToken)
    {
        foreach (var (keyId, use) in _lastUsed.Where(u => !u.Value.Written).ToList())
        {
            await store.MarkUsedAsync(keyId, use.At, cancellationToken);
            _lastUsed.TryUpdate(keyId, use with { Written = true }, use);
        }
    }

    private readonly record struct LastUse(DateTime At, bool Written);
}
