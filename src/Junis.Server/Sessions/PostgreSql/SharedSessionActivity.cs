using System.Threading.Channels;
using Junis.Server.Data;
using Junis.Server.Data.PostgreSql;
using Npgsql;

namespace Junis.Server.Sessions.PostgreSql;

/// <summary>
/// Which sessions have a turn in progress on any instance sharing a PostgreSQL database. Each instance holds a shared
/// advisory lock per session it is running a turn of, on one connection of its own, and any instance reads them all
/// from <c>pg_locks</c>: an instance that dies loses its connection and with it every lock, so a killed instance
/// leaves no session "processing". The locks are taken and released by one loop, a batch of changes per round trip,
/// so a turn's start and end cost the hot path a queued write each.
/// </summary>
/// <remarks>
/// The locks use the two-key form (organization, session), which PostgreSQL keeps apart from the one-key locks the
/// turn writer takes: a status probe never waits for a turn, nor a turn for a probe. Both keys are 32-bit folds, so
/// another organization's session that folds alike could read as processing; the status endpoint asks only after
/// finding the session in the caller's organization, or for the id of a new one the caller was given.
/// </remarks>
public sealed partial class SharedSessionActivity(IConfiguration configuration, ILogger<SharedSessionActivity> logger)
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);
    private readonly Channel<(Key Key, bool Begins)> _changes = Channel.CreateUnbounded<(Key, bool)>(new() { SingleReader = true });
    private readonly string _connectionString = PostgresConnection.WithDefaults(DataServiceCollectionExtensions.ConnectionString(configuration));

    private readonly record struct Key(int Organization, int Session);

    public void Begin(Guid session, Guid organization) => _changes.Writer.TryWrite((KeyOf(session, organization), true));

    public void End(Guid session, Guid organization) => _changes.Writer.TryWrite((KeyOf(session, organization), false));

    /// <summary>The database process of this instance's lock connection, whose locks the status reads from memory instead.</summary>
    private volatile int _ownBackend;

    /// <summary>Whether another instance runs a turn of the session: this instance's own turns are known exactly, from memory.</summary>
    public async Task<bool> IsProcessingAsync(Guid session, Guid organization, CancellationToken cancellationToken)
    {
        var key = KeyOf(session, organization);
        await using var connection = new NpgsqlConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND classid = oid(@organization) AND objid = oid(@session) AND pid <> @own)",
            connection);
        command.Parameters.AddWithValue("organization", (long)(uint)key.Organization);
        command.Parameters.AddWithValue("session", (long)(uint)key.Session);
        // Released a moment after a turn ends here: read from this instance's connection, the lock would outlive the turn.
        command.Parameters.AddWithValue("own", _ownBackend);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Takes and releases the locks until the server stops; run by <see cref="SessionActivity"/>.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        // How many turns of each session run here: a lock is taken at the first and released after the last.
        var running = new Dictionary<Key, int>();
        NpgsqlConnection? connection = null;
        try
        {
            while (await _changes.Reader.WaitToReadAsync(stoppingToken))
            {
                var take = new HashSet<Key>();
                var release = new HashSet<Key>();
                while (_changes.Reader.TryRead(out var change))
                    Count(running, change.Key, change.Begins, take, release);
                try
                {
                    if (connection is null)
                    {
                        connection = new NpgsqlConnection(_connectionString);
                        await connection.OpenAsync(stoppingToken);
                        _ownBackend = connection.ProcessID;
                        // A new connection holds nothing: every session still running here is locked again.
                        take = [.. running.Keys];
                        release.Clear();
                    }
                    await ApplyAsync(connection, take, release, stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The locks died with the connection; the next change, or the retry, takes them again on a new one.
                    LocksLost(logger, e);
                    if (connection is not null)
                        await connection.DisposeAsync();
                    connection = null;
                    await Task.Delay(RetryAfter, stoppingToken);
                    _changes.Writer.TryWrite(default);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            if (connection is not null)
                await connection.DisposeAsync();
        }
    }

    private static void Count(Dictionary<Key, int> running, Key key, bool begins, HashSet<Key> take, HashSet<Key> release)
    {
        if (key == default)
            return;
        running.TryGetValue(key, out var count);
        count += begins ? 1 : -1;
        if (count > 0)
            running[key] = count;
        else
            running.Remove(key);
        // Only the first turn's start and the last turn's end change what the database holds.
        if (begins && count == 1 && !release.Remove(key))
            take.Add(key);
        else if (!begins && count == 0 && !take.Remove(key))
            release.Add(key);
    }

    private static async Task ApplyAsync(NpgsqlConnection connection, HashSet<Key> take, HashSet<Key> release, CancellationToken cancellationToken)
    {
        if (take.Count == 0 && release.Count == 0)
            return;
        await using var batch = new NpgsqlBatch(connection);
        if (take.Count > 0)
            batch.BatchCommands.Add(Command("SELECT pg_advisory_lock_shared(o, s) FROM unnest(@organizations, @sessions) AS locks(o, s)", take));
        if (release.Count > 0)
            batch.BatchCommands.Add(Command("SELECT pg_advisory_unlock_shared(o, s) FROM unnest(@organizations, @sessions) AS locks(o, s)", release));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlBatchCommand Command(string sql, HashSet<Key> keys)
    {
        var command = new NpgsqlBatchCommand(sql);
        command.Parameters.AddWithValue("organizations", keys.Select(k => k.Organization).ToArray());
        command.Parameters.AddWithValue("sessions", keys.Select(k => k.Session).ToArray());
        return command;
    }

    private static Key KeyOf(Guid session, Guid organization) => new(Fold(organization), Fold(session));

    private static int Fold(Guid id)
    {
        Span<int> parts = stackalloc int[4];
        id.TryWriteBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(parts));
        var folded = parts[0] ^ parts[1] ^ parts[2] ^ parts[3];
        // Zero stands for "no change" in the queue (a retry's wake-up).
        return folded == 0 ? 1 : folded;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The connection holding this instance's session activity failed; taking the locks again")]
    private static partial void LocksLost(ILogger logger, Exception e);
}
