using System.Collections.Concurrent;
using System.Net;
using Junis.Server.Auth.Storage;

namespace Junis.Server.Auth.Memory;

/// <summary>
/// The limits counted in this instance's memory: no I/O, and no allocation for a key or an address already seen.
/// (ASP.NET's rate limiter has no hour window to read back for headers nor a clock to control.)
/// </summary>
public sealed class MemoryLimitCounters(TimeProvider clock) : ILimitCounters
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<Guid, KeyWindows> _keys = new();
    private readonly ConcurrentDictionary<IPAddress, AddressWindow> _addresses = new();

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
        if (!_addresses.TryGetValue(address, out var counter))
            return default;
        lock (counter)
        {
            counter.Window.Advance(clock.GetUtcNow());
            return new(counter.Window.HasRoom(perMinute) ? null : counter.Window.ResetsAt);
        }
    }

    public ValueTask<DateTimeOffset?> RecordFailureAsync(IPAddress address, int perMinute, CancellationToken cancellationToken)
    {
        if (_addresses.Count > PruneAbove)
            Prune();
        var counter = _addresses.GetOrAdd(address, static _ => new AddressWindow());
        lock (counter)
        {
            counter.Window.Advance(clock.GetUtcNow());
            if (!counter.Window.HasRoom(perMinute))
                return new(counter.Window.ResetsAt);
            counter.Window.Take(perMinute);
            return default;
        }
    }

    // Addresses from windows that have ended carry nothing worth keeping.
    private void Prune()
    {
        var now = clock.GetUtcNow();
        foreach (var (address, counter) in _addresses)
        {
            lock (counter)
            {
                if (counter.Window.ResetsAt <= now)
                    _addresses.TryRemove(address, out _);
            }
        }
    }

    private sealed class KeyWindows
    {
        public FixedWindow Minute = new(TimeSpan.FromMinutes(1));
        public FixedWindow Hour = new(TimeSpan.FromHours(1));
    }

    private sealed class AddressWindow
    {
        public FixedWindow Window = new(TimeSpan.FromMinutes(1));
    }
}
