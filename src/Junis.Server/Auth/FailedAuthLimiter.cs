using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;

namespace Junis.Server.Auth;

/// <summary>
/// Counts failed authentications per client address each minute; past the limit every attempt from that
/// address is refused with 429 until the minute ends, so guessing keys is slow.
/// </summary>
public sealed class FailedAuthLimiter(IOptions<RateLimitOptions> options, TimeProvider clock)
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<IPAddress, Counter> _addresses = new();

    /// <summary>When the address is over the limit, the moment it may try again.</summary>
    public DateTimeOffset? BlockedUntil(IPAddress address)
    {
        if (!_addresses.TryGetValue(address, out var counter))
            return null;
        lock (counter)
        {
            counter.Window.Advance(clock.GetUtcNow());
            return counter.Window.HasRoom(options.Value.FailedAuthPerMinute) ? null : counter.Window.ResetsAt;
        }
    }

    public void RecordFailure(IPAddress address)
    {
        if (_addresses.Count > PruneAbove)
            Prune();
        var counter = _addresses.GetOrAdd(address, static _ => new Counter());
        lock (counter)
        {
            counter.Window.Advance(clock.GetUtcNow());
            counter.Window.Take();
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

    private sealed class Counter
    {
        public FixedWindow Window = new(TimeSpan.FromMinutes(1));
    }
}
