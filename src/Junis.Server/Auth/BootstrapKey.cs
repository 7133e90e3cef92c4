using Junis.Server.Data;
using Microsoft.Extensions.Options;

namespace Junis.Server.Auth;

/// <summary>Creates the configured bootstrap key, once, so a fresh deployment has a way in.</summary>
public sealed partial class BootstrapKey(IServiceScopeFactory scopes, IOptions<AuthOptions> options, TimeProvider clock, ILogger<BootstrapKey> logger)
{
    public const string OrganizationName = "default";

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        if (options.Value.BootstrapKey is not { Length: > 0 } secret)
            return;

        // Plain SQL (see PlainSql): this runs at every start. Conflicts are skipped rather than checked for first,
        // so servers starting together on one database create the organization and the key once between them.
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
        var now = clock.GetUtcNow().UtcDateTime;
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);

        await using (var command = (await db.CommandAsync(
            """INSERT INTO "Organizations" ("Id", "Name", "CreatedAt") VALUES (@id, @name, @now) ON CONFLICT ("Name") DO NOTHING""", cancellationToken))
            .Bind(db, "@id", Ids.TimeOrdered()).Bind(db, "@name", OrganizationName).Bind(db, "@now", now))
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        Guid organizationId;
        await using (var command = (await db.CommandAsync("""SELECT "Id" FROM "Organizations" WHERE "Name" = @name""", cancellationToken))
            .Bind(db, "@name", OrganizationName))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            organizationId = reader.GetGuid(0);
        }

        var key = ApiKeySecret.NewKey(organizationId, "bootstrap", secret, Scopes.All, now);
        int created;
        await using (var command = (await db.CommandAsync(
            """
            INSERT INTO "ApiKeys" ("Id", "OrganizationId", "Name", "Prefix", "SecretHash", "Scopes", "CreatedAt")
            VALUES (@id, @organization, @name, @prefix, @hash, @scopes, @now) ON CONFLICT ("SecretHash") DO NOTHING
            """, cancellationToken))
            .Bind(db, "@id", key.Id).Bind(db, "@organization", key.OrganizationId).Bind(db, "@name", key.Name).Bind(db, "@prefix", key.Prefix)
            .Bind(db, "@hash", key.SecretHash).Bind(db, "@scopes", key.Scopes).Bind(db, "@now", key.CreatedAt))
        {
            created = await command.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        if (created > 0)
        {
            var prefix = ApiKeySecret.DisplayPrefix(secret);
            Created(logger, prefix, OrganizationName);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created the bootstrap key {Prefix}… in organization {Organization}")]
    private static partial void Created(ILogger logger, string prefix, string organization);
}
