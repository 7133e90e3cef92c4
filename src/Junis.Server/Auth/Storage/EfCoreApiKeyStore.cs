using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Auth.Storage;

/// <summary>The key store through EF Core: the reference, on any provider.</summary>
internal sealed class EfCoreApiKeyStore(IDbContextFactory<JunisDb> databases) : IApiKeyStore
{
    public async Task<KeysVersion> VersionAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var version = await db.ApiKeys.GroupBy(_ => 1)
            .Select(keys => new KeysVersion(keys.LongCount(), keys.LongCount(k => k.RevokedAt != null), keys.Max(k => (DateTime?)k.CreatedAt), keys.Max(k => k.RevokedAt)))
            .SingleOrDefaultAsync(cancellationToken);
        return version;
    }

    public async Task<List<ApiKey>> UsableKeysAsync(CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.ApiKeys.AsNoTracking().Where(k => k.RevokedAt == null).ToListAsync(cancellationToken);
    }

    public async Task MarkUsedAsync(Guid keyId, DateTime at, CancellationToken cancellationToken)
    {
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await db.ApiKeys.Where(k => k.Id == keyId && (k.LastUsedAt == null || k.LastUsedAt < at))
            .ExecuteUpdateAsync(set => set.SetProperty(k => k.LastUsedAt, at), cancellationToken);
    }
}
