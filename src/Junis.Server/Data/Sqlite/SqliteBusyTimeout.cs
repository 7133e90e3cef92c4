using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SQLitePCL;

namespace Junis.Server.Data.Sqlite;

/// <summary>
/// Lets SQLite itself wait for another writer, on every connection the server opens. Without one SQLite answers "busy" at
/// once and Microsoft.Data.Sqlite sleeps a fixed while before trying again, holding every pending turn behind any
/// other write; SQLite's own wait tries again within a few milliseconds.
/// </summary>
internal sealed class SqliteBusyTimeout : DbConnectionInterceptor
{
    public const int Milliseconds = 30_000; // Microsoft.Data.Sqlite's own default command timeout

    public static readonly SqliteBusyTimeout Instance = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Set(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Set(connection);
        return Task.CompletedTask;
    }

    private static void Set(DbConnection connection)
    {
        if (connection is SqliteConnection { Handle: { } handle })
            raw.sqlite3_busy_timeout(handle, Milliseconds);
    }
}
