using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Junis.Server.Data.PostgreSql;

/// <summary>What the server does before EF Core migrates a PostgreSQL database.</summary>
public static class PostgresMigrations
{
    private const long HistoryTableKey = 0x4A756E69_73484953; // "Juni" "sHIS"

    /// <summary>
    /// Creates EF Core's migration history table, as EF Core would, if it is missing. On an empty database EF Core
    /// reads the table before creating it and logs the failed read as an error at every first start; and instances
    /// starting together would race to create it, which PostgreSQL's <c>IF NOT EXISTS</c> does not settle, so a lock
    /// held for the transaction lets one create it while the others wait and then find it.
    /// </summary>
    public static async Task CreateHistoryTableAsync(JunisDb db, CancellationToken cancellationToken)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock({HistoryTableKey})", cancellationToken);
        await db.Database.ExecuteSqlRawAsync(db.GetService<IHistoryRepository>().GetCreateIfNotExistsScript(), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }
}
