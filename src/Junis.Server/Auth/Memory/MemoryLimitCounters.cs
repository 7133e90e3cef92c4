using System.Collections.Concurrent;
using System.Net;
using Junis.Server.Auth.Storage;

namespace Junis.Server.Auth.Memory;

/// <summary>
/// The limits counted in this instance's memory: no I/O, and no allocation for a key, or an address this minute,
/// already seen. (ASP.NET's rate limiter has no hour window to read back for headers nor a clock to control.)
/// </summary>
public sealed class MemoryLimitCounters(TimeProvider clock) : ILimitCounters
{
    private readonly ConcurrentDictionary<Guid, KeyWindows> _keys = new();

    // Only the current minute's failures: when the minute changes the whole table is replaced, so what every failed
    // address costs is paid once, by the collector, never by a scan on some later attempt. Addresses are cheap (IPv6).
    private FailureMinute _failures = new(0);

    public ValueTask<RateLimitDecision> AcquireAsync(Guid key, int perMinute, int perHour, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var windows = _keys.GetOrAdd(key, static _ => new KeyWindows());
        lock (windows)
        {
            windows.Minute.Advance(now);
            windows.Hour.Advance(now);
            var allowed = windows.Minute.HasRoom(perMinute) && windows.Hour.HasRoom(perHour);
            if (allowed)
            {
                windows.Minute.Take(perMinute);
                windows.Hour.Take(perHour);
            }
            return new(new RateLimitDecision(allowed, State(windows.Minute, perMinute), State(windows.Hour, perHour)));
        }
    }

    private static WindowState State(FixedWindow window, int limit) => WindowState.Of(limit, window.Count, window.ResetsAt);

    public ValueTask<DateTimeOffset?> BlockedUntilAsync(IPAddress address, int perMinute, CancellationToken cancellationToken)
    {
        var minute = CurrentMinute();
        if (perMinute == RateLimit.Unlimited || !minute.Failures.TryGetValue(address, out var failures))
            return default;
        lock (failures)
            return new(failures.Count < perMinute ? null : minute.End);
    }

    public ValueTask<DateTimeOffset?> RecordFailureAsync(IPAddress address, int perMinute, CancellationToken cancellationToken)
    {
        if (perMinute == RateLimit.Unlimited)
            return default;
        var minute = CurrentMinute();
        var failures = minute.Failures.GetOrAdd(address, static _ => new Tally());
        lock (failures)
        {
            if (failures.Count >= perMinute)
                return new(minute.End);
            failures.Count++;
            return default;
        }
    }

    /// <summary>The table of the minute the clock is in, put in place of the last one by the first to see it begin.</summary>
    private FailureMinute CurrentMinute()
    {
        var index = clock.GetUtcNow().UtcTicks / TimeSpan.TicksPerMinute;
        var current = Volatile.Read(ref _failures);
        // A caller whose clock reading is a moment older than the table counts in the newer minute: counted once either way.
        if (current.Index >= index)
            return current;
        var next = new FailureMinute(index);
        var seen = Interlocked.CompareExchange(ref _failures, next, current);
        return seen == current ? next : Volatile.Read(ref _failures);
    }

    private sealed class FailureMinute(long index)
    {
        public long Index { get; } = index;
        public DateTimeOffset End { get; } = new((index + 1) * TimeSpan.TicksPerMinute, TimeSpan.Zero);
        public ConcurrentDictionary<IPAddress, Tally> Failures { get; } = new();
    }

    private sealed class Tally
    {
        public int Count;
    }

    private sealed class KeyWindows
    {
        public FixedWindow Minute = new(TimeSpan.FromMinutes(1));
        public FixedWindow Hour = new(TimeSpan.FromHours(1));
    }
}
