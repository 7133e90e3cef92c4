using Junis.Server.Auth;
using Junis.Server.Auth.Sqlite;
using Junis.Server.Auth.Storage;
using Junis.Server.Data;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Junis.Server.Tests.Auth;

/// <summary>The key store's SQLite fast path answers as its EF Core reference does, on the same database.</summary>
public sealed class ApiKeyStoreEquivalenceTests : IDisposable
{
    private readonly JunisApp _app = new();

    public void Dispose() => _app.Dispose();

    private IApiKeyStore Reference => ActivatorUtilities.CreateInstance<EfCoreApiKeyStore>(_app.Services);

    private IApiKeyStore Fast => ActivatorUtilities.CreateInstance<SqliteApiKeyStore>(_app.Services);

    [Fact]
    public async Task BothStoresSeeTheSameKeysAndTheSameVersion()
    {
        await _app.CreateKeyAsync("acme", Scopes.Invoke);
        await _app.CreateKeyAsync("globex");
        await _app.QueryAsync(async db =>
        {
            var key = await db.ApiKeys.OrderBy(k => k.CreatedAt).LastAsync();
            key.PerMinute = 7;
            key.ExpiresAt = new DateTime(2030, 1, 2, 3, 4, 5, 600, DateTimeKind.Utc);
            key.Description = "키 for the voice bot";
            return await db.SaveChangesAsync();
        });

        await AssertSameAsync();
        var before = await Reference.VersionAsync(default);

        await _app.QueryAsync(async db =>
        {
            var key = await db.ApiKeys.OrderBy(k => k.CreatedAt).FirstAsync();
            key.RevokedAt = new DateTime(2026, 12, 6, 23, 0, 0, 1, DateTimeKind.Utc);
            return await db.SaveChangesAsync();
        });

        await AssertSameAsync();
        Assert.NotEqual(before, await Fast.VersionAsync(default));
    }

    [Fact]
    public async Task ALastUseOnlyMovesForwardInBothStores()
    {
        var keyId = await _app.QueryAsync(db => db.ApiKeys.Select(k => k.Id).FirstAsync());
        var noon = new DateTime(2026, 12, 6, 12, 0, 0, 123, DateTimeKind.Utc);

        foreach (var store in new[] { Reference, Fast })
        {
            await ResetLastUseAsync(keyId);
            await store.MarkUsedAsync(keyId, noon, default);
            await store.MarkUsedAsync(keyId, noon.AddMinutes(-5), default);
            Assert.Equal(noon, await _app.QueryAsync(db => db.ApiKeys.Where(k => k.Id == keyId).Select(k => k.LastUsedAt).SingleAsync()));
        }
    }

    [Fact]
    public async Task AnEmptyTableHasTheSameVersionInBothStores()
    {
        await _app.QueryAsync(db => db.ApiKeys.ExecuteDeleteAsync());

        Assert.Equal(new KeysVersion(0, null, null), await Reference.VersionAsync(default));
        Assert.Equal(new KeysVersion(0, null, null), await Fast.VersionAsync(default));
    }

    private async Task AssertSameAsync()
    {
        Assert.Equal(await Reference.VersionAsync(default), await Fast.VersionAsync(default));
        var reference = (await Reference.UsableKeysAsync(default)).OrderBy(k => k.Id).Select(Describe).ToList();
        var fast = (await Fast.UsableKeysAsync(default)).OrderBy(k => k.Id).Select(Describe).ToList();
        Assert.NotEmpty(reference);
        Assert.Equal(reference, fast);
    }

    private static string Describe(ApiKey k) =>
        $"{k.Id} {k.OrganizationId} {k.Name} {k.Prefix} {Convert.ToHexString(k.SecretHash)} {k.Scopes} {k.PerMinute} {k.PerHour} " +
        $"{k.ExpiresAt:O} {k.ExpiresAt?.Kind} {k.Description} {k.CreatedAt:O} {k.CreatedAt.Kind} {k.LastUsedAt:O}";

    private Task ResetLastUseAsync(Guid keyId) =>
        _app.QueryAsync(db => db.ApiKeys.Where(k => k.Id == keyId).ExecuteUpdateAsync(set => set.SetProperty(k => k.LastUsedAt, (DateTime?)null)));
}
