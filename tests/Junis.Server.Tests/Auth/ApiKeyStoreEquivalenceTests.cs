using Junis.Server.Auth;
using Junis.Server.Auth.Sqlite;
using Junis.Server.Auth.Storage;
using Junis.Server.Data;
using Junis.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Junis.Server.Tests.Auth;

/// <summary>
/// The key store's SQLite fast path answers as its EF Core reference does, on the same database; and the reference
/// answers on PostgreSQL as on SQLite.
/// </summary>
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
    public async Task ARevocationStampedBeforeTheNewestOneStillChangesTheVersionInBothStores()
    {
        await _app.CreateKeyAsync("acme");
        await _app.CreateKeyAsync("globex");
        async Task RevokeAsync(Func<IQueryable<ApiKey>, Task<ApiKey>> which, DateTime at) => await _app.QueryAsync(async db =>
        {
            (await which(db.ApiKeys.OrderBy(k => k.CreatedAt))).RevokedAt = at;
            return await db.SaveChangesAsync();
        });
        await RevokeAsync(keys => keys.LastAsync(), new DateTime(2026, 12, 6, 23, 0, 0, DateTimeKind.Utc));
        var before = (await Reference.VersionAsync(default), await Fast.VersionAsync(default));

        // Written by a host whose clock runs an hour behind: the newest revocation time does not move.
        await RevokeAsync(keys => keys.FirstAsync(), new DateTime(2026, 12, 6, 22, 0, 0, DateTimeKind.Utc));

        Assert.NotEqual(before.Item1, await Reference.VersionAsync(default));
        Assert.NotEqual(before.Item2, await Fast.VersionAsync(default));
        await AssertSameAsync();
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

        Assert.Equal(new KeysVersion(0, 0, null, null), await Reference.VersionAsync(default));
        Assert.Equal(new KeysVersion(0, 0, null, null), await Fast.VersionAsync(default));
    }

    [Fact]
    public async Task TheReferenceSeesTheSameKeysOnPostgreSqlAsOnSqlite()
    {
        var onSqlite = await KeysLifeAsync(_app);
        using var postgres = new JunisApp(engine: Engine.PostgreSql);
        var onPostgreSql = await KeysLifeAsync(postgres);

        Assert.Equal(onSqlite, onPostgreSql);
        Assert.Contains(onSqlite, line => line.Contains("키 for the voice bot", StringComparison.Ordinal));
    }

    /// <summary>
    /// What the reference sees on <paramref name="app"/>'s database of the same keys (ids, secrets and times fixed, to
    /// the microsecond, which both engines keep) created, revoked, used and deleted alike.
    /// </summary>
    private static async Task<List<string>> KeysLifeAsync(JunisApp app)
    {
        var store = ActivatorUtilities.CreateInstance<EfCoreApiKeyStore>(app.Services);
        var seen = new List<string>();
        async Task SeeAsync(string step)
        {
            var version = await store.VersionAsync(default);
            seen.Add($"{step}: version {version.Count} {version.LastCreated:O} {version.LastRevoked:O}");
            seen.AddRange((await store.UsableKeysAsync(default)).OrderBy(k => k.Id).Select(k => $"{step}: {Describe(k)}"));
        }
        DateTime At(int day, int hour, int microseconds) =>
            new DateTime(2026, 12, day, hour, 0, 0, DateTimeKind.Utc).AddTicks(microseconds * TimeSpan.TicksPerMicrosecond);
        Guid Id(int n) => new($"0193a1b2-c3d4-7e5f-8a6b-{n:D12}");
        ApiKey Key(int n, Guid organization, string name, char secret, IEnumerable<string> scopes, DateTime created)
        {
            var key = ApiKeySecret.NewKey(organization, name, "jns_live_" + new string(secret, 32), scopes, created);
            key.Id = Id(n);
            return key;
        }

        await app.QueryAsync(async db =>
        {
            await db.ApiKeys.ExecuteDeleteAsync();
            db.Organizations.AddRange(new Organization { Id = Id(1), Name = "north", CreatedAt = At(1, 8, 0) }, new Organization { Id = Id(2), Name = "south", CreatedAt = At(1, 9, 1) });
            var voice = Key(11, Id(1), "voice bot", 'V', [Scopes.Invoke, Scopes.Stream], At(2, 10, 123_456));
            voice.Description = "키 for the voice bot";
            voice.PerMinute = 7;
            voice.ExpiresAt = At(30, 23, 999_999);
            var unlimited = Key(12, Id(2), "batch", 'B', Scopes.All, At(3, 11, 1));
            unlimited.PerHour = RateLimit.Unlimited;
            var revoked = Key(13, Id(1), "old", 'O', Scopes.All, At(1, 12, 0));
            revoked.RevokedAt = At(4, 12, 500_000);
            db.ApiKeys.AddRange(voice, unlimited, revoked);
            return await db.SaveChangesAsync();
        });
        await SeeAsync("created");

        var voiceId = Id(11);
        var revokedAt = At(5, 13, 250);
        await app.QueryAsync(db => db.ApiKeys.Where(k => k.Id == voiceId).ExecuteUpdateAsync(set => set.SetProperty(k => k.RevokedAt, revokedAt)));
        await SeeAsync("revoked");

        await store.MarkUsedAsync(Id(12), At(6, 12, 42), default);
        await store.MarkUsedAsync(Id(12), At(6, 11, 42), default);
        await SeeAsync("used");

        await app.QueryAsync(db => db.ApiKeys.ExecuteDeleteAsync());
        await SeeAsync("deleted");
        return seen;
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
