using Junis.Server.Data;
using Junis.Server.Data.PostgreSql;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Junis.Server.Sessions;

/// <summary>
/// When <see cref="SessionsOptions.RetentionDays"/> is set, deletes sessions idle for longer, hourly. Instances sharing a
/// PostgreSQL database take turns: one sweeps while the others find the sweep's lock taken and skip.
/// </summary>
public sealed partial class SessionRetention(
    IDbContextFactory<JunisDb> databases, IOptions<SessionsOptions> options, TimeProvider clock, ILogger<SessionRetention> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.RetentionDays is not { } days)
            return;
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), clock);
        do
        {
            try
            {
                var deleted = await DeleteExpiredAsync(days, stoppingToken);
                if (deleted > 0)
                    Deleted(logger, deleted, days);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                DeleteFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<int> DeleteExpiredAsync(int days, CancellationToken cancellationToken)
    {
        var cutoff = clock.GetUtcNow().UtcDateTime.AddDays(-days);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (db is PostgresJunisDb && !await SessionLocks.TryLockRetentionSweepAsync(db, cancellationToken))
            return 0;
        var deleted = await db.Sessions.Where(s => s.LastUpdateAt < cutoff).ExecuteDeleteAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deleted;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Count} sessions idle for more than {Days} days")]
    private static partial void Deleted(ILogger logger, int count, int days);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleting expired sessions failed; trying again in an hour")]
    private static partial void DeleteFailed(ILogger logger, Exception e);
}
