using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Junis.Server.Sessions;

/// <summary>When <see cref="SessionsOptions.RetentionDays"/> is set, deletes sessions idle for longer, hourly.</summary>
public sealed class SessionRetention(
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
                    logger.LogInformation("Deleted {Count} sessions idle for more than {Days} days", deleted, days);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "Deleting expired sessions failed; trying again in an hour");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<int> DeleteExpiredAsync(int days, CancellationToken cancellationToken)
    {
        var cutoff = clock.GetUtcNow().UtcDateTime.AddDays(-days);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        return await db.Sessions.Where(s => s.LastUpdateAt < cutoff).ExecuteDeleteAsync(cancellationToken);
    }
}
