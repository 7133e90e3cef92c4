using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Data;

/// <summary>Brings the schema up to date before the server takes requests.</summary>
public sealed class DatabaseStartup(IServiceScopeFactory scopes) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<JunisDb>();
        if (db.Database.IsSqlite())
        {
            // WAL lets readers run beside the one writer; the setting lives in the file, so once is enough.
            // Set before migrating, a new database is created with a handful of WAL appends instead of journal round trips.
            await db.Database.OpenConnectionAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", cancellationToken);
        }
        await db.Database.MigrateAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
