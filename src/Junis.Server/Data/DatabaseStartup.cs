using Junis.Server.Data.PostgreSql;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Data;

/// <summary>Brings the schema up to date before the server takes requests.</summary>
public sealed class DatabaseStartup(IServiceScopeFactory scopes) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        await MigrateAsync(scope.ServiceProvider.GetRequiredService<JunisDb>(), cancellationToken);
    }

    /// <summary>The schema brought up to date, on either engine: for the server and its admin commands alike.</summary>
    public static async Task MigrateAsync(JunisDb db, CancellationToken cancellationToken)
    {
        if (db is PostgresJunisDb)
        {
            await PostgresMigrations.MigrateAsync(db, cancellationToken);
            return;
        }
        // WAL lets readers run beside the one writer; the setting lives in the file, so once is enough.
        // Set before migrating, a new database is created with a handful of WAL appends instead of journal round trips.
        await using (var wal = await db.CommandAsync("PRAGMA journal_mode=WAL", cancellationToken))
            await wal.ExecuteNonQueryAsync(cancellationToken);
        await MigrationScripts.ApplyAsync(db, cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
