using System.Net;
using Junis.Server.Auth.Storage;
using Junis.Server.Data;
using Junis.Server.Data.PostgreSql;
using Npgsql;

namespace Junis.Server.Auth.PostgreSql;

/// <summary>
/// The limits counted in PostgreSQL, shared by every instance on the database, in one round trip per request: the
/// statements of <see cref="EfCoreLimitCounters"/>'s transaction sent as one batch, which tests hold to it. A request
/// locks its windows' rows (creating them at zero if new), then takes a slot in each only if every one has room, so a
/// request refused by its hour takes nothing of its minute, and no two requests can take a window's last slot.
/// </summary>
internal sealed class PostgresLimitCounters(IConfiguration configuration, TimeProvider clock) : ILimitCounters
{
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Every request of a key locks the same rows until its commit, so the commit's wait for the WAL flush would bound one
    /// key's requests to one per flush (bench/ANALYSIS.md, "Several instances on PostgreSQL"). A count is not a turn: the
    /// commit is visible at once to every instance, and only a crash of the database within its WAL writer's delay
    /// (200 ms by default) could forget it, letting those requests be counted again.
    /// </summary>
    private const string NoFlushWait = "SET LOCAL synchronous_commit TO OFF";
    private readonly string _connectionString = PostgresConnection.WithDefaults(DataServiceCollectionExtensions.ConnectionString(configuration));
    private long _nextPruneTicks;

    public async ValueTask<RateLimitDecision> AcquireAsync(Guid key, int perMinute, int perHour, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (minute, hour) = CountedWindow.OfKey(key, now, perMinute, perHour);
        CountedWindow[] limited = [.. new[] { minute, hour }.Where(w => !w.Unlimited)];
        if (limited.Length == 0)
            return new RateLimitDecision(true, minute.State(0), hour.State(0));

        await using var connection = await OpenAsync(now, cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(NoFlushWait));
        batch.BatchCommands.Add(WithWindows(limited, """
            INSERT INTO "LimitWindows" ("Counter", "Start", "Count")
            SELECT c, s, 0 FROM unnest($1, $2, $3) AS l(c, s, n) ON CONFLICT DO NOTHING
            """));
        // Locked in one order everywhere, so two requests of one key never wait for each other in a circle.
        batch.BatchCommands.Add(WithWindows(limited, """
            SELECT w."Counter", w."Count" FROM "LimitWindows" w JOIN unnest($1, $2, $3) AS l(c, s, n) ON w."Counter" = l.c AND w."Start" = l.s
            ORDER BY w."Counter" FOR UPDATE OF w
            """));
        // The rows are ours until the commit, and this statement sees them as their last writer left them.
        var take = WithWindows(limited, """
            UPDATE "LimitWindows" w SET "Count" = w."Count" + 1 FROM unnest($1, $2, $3) AS l(c, s, n)
            WHERE w."Counter" = l.c AND w."Start" = l.s AND NOT EXISTS (
                SELECT 1 FROM "LimitWindows" f JOIN unnest($1, $2, $3) AS m(c, s, n) ON f."Counter" = m.c AND f."Start" = m.s WHERE f."Count" >= m.n)
            """);
        batch.BatchCommands.Add(take);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));

        var counts = new Dictionary<string, int>(2);
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            do
            {
                while (reader.FieldCount == 2 && await reader.ReadAsync(cancellationToken))
                    counts[reader.GetString(0)] = reader.GetInt32(1);
            }
            while (await reader.NextResultAsync(cancellationToken));
        }
        var allowed = take.RecordsAffected == limited.Length;
        var taken = allowed ? 1 : 0;
        return new RateLimitDecision(allowed,
            minute.State(counts.GetValueOrDefault(minute.Counter) + taken), hour.State(counts.GetValueOrDefault(hour.Counter) + taken));
    }

    public async ValueTask<DateTimeOffset?> BlockedUntilAsync(IPAddress address, int perMinute, CancellationToken cancellationToken)
    {
        var window = CountedWindow.OfFailures(address, clock.GetUtcNow(), perMinute);
        if (window.Unlimited)
            return null;
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("""SELECT "Count" FROM "LimitWindows" WHERE "Counter" = $1 AND "Start" = $2""", connection)
        {
            Parameters = { new() { Value = window.Counter }, new() { Value = window.Start } },
        };
        var count = await command.ExecuteScalarAsync(cancellationToken) as int? ?? 0;
        return count < perMinute ? null : window.End;
    }

    public async ValueTask<DateTimeOffset?> RecordFailureAsync(IPAddress address, int perMinute, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var window = CountedWindow.OfFailures(address, now, perMinute);
        if (window.Unlimited)
            return null;
        await using var connection = await OpenAsync(now, cancellationToken);
        await using var batch = new NpgsqlBatch(connection);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("BEGIN"));
        batch.BatchCommands.Add(new NpgsqlBatchCommand(NoFlushWait));
        // One statement: the row is created with the first failure or takes a slot if it has room, atomically either way.
        var take = new NpgsqlBatchCommand("""
            INSERT INTO "LimitWindows" AS w ("Counter", "Start", "Count") VALUES ($1, $2, 1)
            ON CONFLICT ("Counter", "Start") DO UPDATE SET "Count" = w."Count" + 1 WHERE w."Count" < $3
            """)
        {
            Parameters = { new() { Value = window.Counter }, new() { Value = window.Start }, new() { Value = window.Limit } },
        };
        batch.BatchCommands.Add(take);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        await batch.ExecuteNonQueryAsync(cancellationToken);
        return take.RecordsAffected == 1 ? null : window.End;
    }


    private static NpgsqlBatchCommand WithWindows(CountedWindow[] windows, string sql) => new(sql)
    {
        Parameters =
        {
            new() { Value = Array.ConvertAll(windows, w => w.Counter) },
            new() { Value = Array.ConvertAll(windows, w => w.Start) },
            new() { Value = Array.ConvertAll(windows, w => w.Limit) },
        },
    };

    /// <summary>A connection, after deleting, one request in ten minutes per instance, the windows that ended over an hour ago.</summary>
    private async Task<NpgsqlConnection> OpenAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken);
            var due = Interlocked.Read(ref _nextPruneTicks);
            if (now.UtcTicks >= due && Interlocked.CompareExchange(ref _nextPruneTicks, (now + PruneEvery).UtcTicks, due) == due)
            {
                await using var prune = new NpgsqlCommand("""DELETE FROM "LimitWindows" WHERE "Start" < $1""", connection)
                {
                    Parameters = { new() { Value = CountedWindow.ExpiredBefore(now) } },
                };
                await prune.ExecuteNonQueryAsync(cancellationToken);
            }
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }
}
