using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql;

namespace Junis.Server.Data.PostgreSql;

/// <summary>How the server migrates a PostgreSQL database, however many instances start against it at once.</summary>
public static class PostgresMigrations
{
    private const long MigrationKey = 0x4A756E69_73484953; // "Juni" "sHIS"

    /// <summary>
    /// Creates EF Core's history table if it is missing, as EF Core would, then migrates; all under one advisory lock held
    /// until it is done. EF Core's own lock lasts one transaction, and instances starting together on
    /// an empty database were seen to apply the same second migration twice; and on an empty database EF Core reads the
    /// history table before creating it, logging the failed read as an error.
    /// </summary>
    public static async Task MigrateAsync(JunisDb db, CancellationToken cancellationToken)
    {
        // The lock on a connection of its own, which EF Core cannot close or hand back to the pool while it migrates.
        await using var holder = new NpgsqlConnection(db.Database.GetConnectionString());
        await holder.OpenAsync(cancellationToken);
        await using (var take = new NpgsqlCommand($"SELECT pg_advisory_lock({MigrationKey})", holder))
            await take.ExecuteNonQueryAsync(cancellationToken);
        try
        {
            await db.Database.ExecuteSqlRawAsync(db.GetService<IHistoryRepository>().GetCreateIfNotExistsScript(), cancellationToken);
            await db.Database.MigrateAsync(cancellationToken);
        }
        finally
        {
            await using var release = new NpgsqlCommand($"SELECT pg_advisory_unlock({MigrationKey})", holder);
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}
