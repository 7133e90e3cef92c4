namespace Junis.Server.Auth.Storage;

/// <summary>
/// Where the key directory (<see cref="ApiKeyDirectory"/>) reads keys and notes their use. Implemented by
/// <see cref="EfCoreApiKeyStore"/>, the reference for any provider, and by <see cref="Sqlite.SqliteApiKeyStore"/>,
/// plain SQL on SQLite, which tests hold to it.
/// </summary>
/// <remarks>
/// Guarantees: a key created or revoked, by this instance or another, changes <see cref="VersionAsync"/>, so every
/// instance's directory takes it up at its next refresh (within seconds); a key's last use only moves forward.
/// </remarks>
public interface IApiKeyStore
{
    Task<KeysVersion> VersionAsync(CancellationToken cancellationToken);

    /// <summary>Every key not revoked, expired ones included (the directory checks expiry at each request).</summary>
    Task<List<ApiKey>> UsableKeysAsync(CancellationToken cancellationToken);

    /// <summary>Notes that the key was used at <paramref name="at"/>, unless a later use is noted already.</summary>
    Task MarkUsedAsync(Guid keyId, DateTime at, CancellationToken cancellationToken);
}

/// <summary>
/// What changes whenever a key is created or revoked: the counts of keys and of revoked keys, the newest creation, the
/// newest revocation. The counts catch what the times would miss when the clocks of the hosts writing them disagree.
/// </summary>
public readonly record struct KeysVersion(long Count, long Revoked, DateTime? LastCreated, DateTime? LastRevoked);
