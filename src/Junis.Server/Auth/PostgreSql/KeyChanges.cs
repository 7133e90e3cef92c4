using Junis.Server.Data;
using Junis.Server.Data.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Junis.Server.Auth.PostgreSql;

/// <summary>
/// Word of changed keys between processes sharing a PostgreSQL database: the admin commands notify after their commit,
/// and each server listens on a connection of its own and reloads its keys at once. The periodic look stays, for
/// changes made any other way and for a listening connection that was down.
/// </summary>
public sealed partial class KeyChanges(IConfiguration configuration, ILogger<KeyChanges> logger)
{
    private const string Channel = "junis_keys";
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(1);

    /// <summary>Tells every listening server the keys changed; outside a transaction, so it is sent at once.</summary>
    public static async Task NotifyAsync(JunisDb db, CancellationToken cancellationToken)
    {
        if (db is PostgresJunisDb)
            await db.Database.ExecuteSqlRawAsync($"NOTIFY {Channel}", cancellationToken);
    }

    /// <summary>Calls <paramref name="changed"/> on every notice, and once each time listening (re)starts, for what it may have missed.</summary>
    public async Task ListenAsync(Action changed, CancellationToken stoppingToken)
    {
        var connectionString = PostgresConnection.WithDefaults(DataServiceCollectionExtensions.ConnectionString(configuration));
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                connection.Notification += (_, _) => changed();
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                changed();
                while (true)
                    await connection.WaitAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                ListeningFailed(logger, e);
                await Task.Delay(RetryAfter, stoppingToken);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening for key changes failed; listening again in a second, looking for changes meanwhile")]
    private static partial void ListeningFailed(ILogger logger, Exception e);
}
