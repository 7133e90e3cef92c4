using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;
using SQLitePCL;

namespace Junis.Server.Data.Sqlite;

/// <summary>
/// Lets SQLite itself wait for another writer, on every connection the server opens. Without a busy timeout SQLite
/// answers "busy" at once and Microsoft.Data.Sqlite sleeps 150 ms before trying again: the turn writer meeting the
/// minutely write of the keys' last use, or a session being deleted, held every pending turn for 150 ms. SQLite's
/// own wait tries again after 1, 2, 5, 10… ms.
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
