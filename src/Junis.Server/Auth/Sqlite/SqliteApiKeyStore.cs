using Junis.Server.Auth.Storage;
using Junis.Server.Data;

namespace Junis.Server.Auth.Sqlite;

/// <summary>
/// The key store on SQLite, in plain SQL (see <see cref="PlainSql"/>): it runs at start-up, where EF Core's query
/// pipeline would cost more than the queries (bench/ANALYSIS.md, "Figures behind the code"), and every two seconds after.
/// </summary>
internal sealed class SqliteApiKeyStore(IServiceScopeFactory scopes) : IApiKeyStore
{
    public async Task<KeysVersion> VersionAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
        await using var command = await db.CommandAsync("""SELECT COUNT(*), COUNT("RevokedAt"), MAX("CreatedAt"), MAX("RevokedAt") FROM "ApiKeys" """, cancellationToken);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new KeysVersion(reader.GetInt64(0), reader.GetInt64(1), reader.GetUtcDateTime(2), reader.GetUtcDateTime(3));
    }

    public async Task<List<ApiKey>> UsableKeysAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
        await using var command = await db.CommandAsync(
            """
            SELECT "Id", "OrganizationId", "Name", "Prefix", "SecretHash", "Scopes", "PerMinute", "PerHour", "ExpiresAt", "Description",
                   "CreatedAt", "LastUsedAt"
            FROM "ApiKeys" WHERE "RevokedAt" IS NULL
            """,
            cancellationToken);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var keys = new List<ApiKey>();
        while (await reader.ReadAsync(cancellationToken))
        {
            keys.Add(new ApiKey
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
                Description = reader.IsDBNull(9) ? null : reader.GetString(9),
                CreatedAt = reader.GetUtcDateTime(10)!.Value,
                LastUsedAt = reader.GetUtcDateTime(11),
            });
        }
        return keys;
    }

    public async Task MarkUsedAsync(Guid keyId, DateTime at, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
        await using var command = (await db.CommandAsync(
            """UPDATE "ApiKeys" SET "LastUsedAt" = @at WHERE "Id" = @id AND ("LastUsedAt" IS NULL OR "LastUsedAt" < @at)""", cancellationToken))
            .Bind(db, "@at", at).Bind(db, "@id", keyId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
