using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Junis.Server.Auth;

/// <summary>What the limiter decided for one request, with what the X-RateLimit-* headers report.</summary>
public readonly record struct RateLimitDecision(bool Allowed, WindowState Minute, WindowState Hour)
{
    /// <summary>When a refused request may be tried again: the end of the window that refused it.</summary>
    public DateTimeOffset RetryAt => (Minute.Full, Hour.Full) switch
    {
        (_, true) => Hour.ResetsAt, // the hour ends after the minute
        _ => Minute.ResetsAt,
    };
}

public readonly record struct WindowState(int Limit, int Remaining, DateTimeOffset ResetsAt)
{
    public bool Unlimited => Limit == RateLimit.Unlimited;
    public bool Full => !Unlimited && Remaining == 0;
}

/// <summary>
/// Per-key limits in two clock-aligned windows, a minute and an hour, counted in memory. A refused request
/// does not count. (ASP.NET's rate limiter has no hour window to read back for headers nor a clock to control.)
/// </summary>
public sealed class KeyRateLimiter(IOptions<RateLimitOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<Guid, Windows> _keys = new();

    public RateLimitDecision Acquire(Caller caller)
    {
        var perMinute = caller.PerMinute ?? options.Value.DefaultPerMinute;
        var perHour = caller.PerHour ?? options.Value.DefaultPerHour;
        var now = clock.GetUtcNow();
        var windows = _keys.GetOrAdd(caller.KeyId, static _ => new Windows());
        lock (windows)
        {
            windows.Minute.Advance(now);
            windows.Hour.Advance(now);
            var allowed = windows.Minute.HasRoom(perMinute) && windows.Hour.HasRoom(perHour);
            if (allowed)
            {
                windows.Minute.Take();
                windows.Hour.Take();
            }
            return new RateLimitDecision(allowed, State(windows.Minute, perMinute), State(windows.Hour, perHour));
        }
    }

    private static WindowState State(FixedWindow window, int limit) =>
        new(limit, limit == RateLimit.Unlimited ? 0 : Math.Max(0, limit - window.Count), window.ResetsAt);

    private sealed class Windows
    {
        public FixedWindow Minute = new(TimeSpan.FromMinutes(1));
        public FixedWindow Hour = new(TimeSpan.FromHours(1));
    }
}
