using System.Net;
using Junis.Server.Data;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Auth.Storage;

/// <summary>
/// The limits counted in the database through EF Core: the reference, on any provider, and what several instances on
/// one database share. A window is a row (<see cref="LimitWindow"/>); a slot in it is taken by one conditional update,
/// <c>Count = Count + 1 WHERE Count &lt; limit</c>, whose rows affected say whether it was taken. The database runs
/// each update whole against the row as the last committer left it, so no two requests can take the last slot.
/// </summary>
internal sealed class EfCoreLimitCounters(IDbContextFactory<JunisDb> databases, TimeProvider clock) : ILimitCounters
{
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(10);
    private long _nextPruneTicks;

    public async ValueTask<RateLimitDecision> AcquireAsync(Guid key, int perMinute, int perHour, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (minute, hour) = CountedWindow.OfKey(key, now, perMinute, perHour);
        if (minute.Unlimited && hour.Unlimited)
            return new RateLimitDecision(true, minute.State(0), hour.State(0));

        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await PruneNowAndThenAsync(db, now, cancellationToken);
        // One transaction for both windows: when the hour refuses, the minute's slot is given back by the rollback.
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var allowed = await TryTakeAsync(db, minute, cancellationToken) && await TryTakeAsync(db, hour, cancellationToken);
        if (!allowed)
            await transaction.RollbackAsync(cancellationToken);
        var (minuteCount, hourCount) = await CountsAsync(db, minute, hour, cancellationToken);
        if (allowed)
            await transaction.CommitAsync(cancellationToken);
        return new RateLimitDecision(allowed, minute.State(minuteCount), hour.State(hourCount));
    }

    public async ValueTask<DateTimeOffset?> BlockedUntilAsync(IPAddress address, int perMinute, CancellationToken cancellationToken)
    {
        var window = CountedWindow.OfFailures(address, clock.GetUtcNow(), perMinute);
        if (window.Unlimited)
            return null;
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        var count = await Row(db, window).Select(w => w.Count).FirstOrDefaultAsync(cancellationToken);
        return count < perMinute ? null : window.End;
    }

    public async ValueTask<DateTimeOffset?> RecordFailureAsync(IPAddress address, int perMinute, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var window = CountedWindow.OfFailures(address, now, perMinute);
        await using var db = await databases.CreateDbContextAsync(cancellationToken);
        await PruneNowAndThenAsync(db, now, cancellationToken);
        return await TryTakeAsync(db, window, cancellationToken) ? null : window.End;
    }

    private static async Task<bool> TryTakeAsync(JunisDb db, CountedWindow window, CancellationToken cancellationToken)
    {
        if (window.Unlimited)
            return true;
        while (!await TakeAsync(db, window, cancellationToken))
        {
            // Full, or missing when the update looked: another request may have inserted the row since, so only a full
            // row refuses. The window's first request inserts it, unless another did first (the key refuses the second
            // insert): then the update decides again, as it does for a row that appeared with room.
            var count = await Row(db, window).Select(w => (int?)w.Count).SingleOrDefaultAsync(cancellationToken);
            if (count >= window.Limit)
                return false;
            if (count is null && await TryInsertAsync(db, window, cancellationToken))
                return true;
        }
        return true;
    }

    private static async Task<bool> TakeAsync(JunisDb db, CountedWindow window, CancellationToken cancellationToken) =>
        await Row(db, window).Where(w => w.Count < window.Limit)
            .ExecuteUpdateAsync(set => set.SetProperty(w => w.Count, w => w.Count + 1), cancellationToken) == 1;

    private static async Task<bool> TryInsertAsync(JunisDb db, CountedWindow window, CancellationToken cancellationToken)
    {
        db.LimitWindows.Add(new LimitWindow { Counter = window.Counter, Start = window.Start, Count = 1 });
        try
        {
            // Inside a transaction EF Core saves behind a savepoint, so a refused insert leaves the transaction usable.
            await db.SaveChangesAsync(cancellationToken);
            return true;
        }
        catch (DbUpdateException)
        {
            if (!await Row(db, window).AnyAsync(cancellationToken))
                throw; // not the race: something else went wrong
            return false;
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }

    private static IQueryable<LimitWindow> Row(JunisDb db, CountedWindow window) =>
        db.LimitWindows.Where(w => w.Counter == window.Counter && w.Start == window.Start);

    private static async Task<(int Minute, int Hour)> CountsAsync(JunisDb db, CountedWindow minute, CountedWindow hour, CancellationToken cancellationToken)
    {
        var counts = await db.LimitWindows
            .Where(w => (w.Counter == minute.Counter && w.Start == minute.Start) || (w.Counter == hour.Counter && w.Start == hour.Start))
            .Select(w => new { w.Counter, w.Count })
            .ToListAsync(cancellationToken);
        return (counts.Find(c => c.Counter == minute.Counter)?.Count ?? 0, counts.Find(c => c.Counter == hour.Counter)?.Count ?? 0);
    }

    // Windows that ended over an hour ago are never read again. One request in ten minutes, per instance, deletes them.
    private async Task PruneNowAndThenAsync(JunisDb db, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var due = Interlocked.Read(ref _nextPruneTicks);
        if (now.UtcTicks < due || Interlocked.CompareExchange(ref _nextPruneTicks, (now + PruneEvery).UtcTicks, due) != due)
            return;
        var before = CountedWindow.ExpiredBefore(now);
        await db.LimitWindows.Where(w => w.Start < before).ExecuteDeleteAsync(cancellationToken);
    }
}
