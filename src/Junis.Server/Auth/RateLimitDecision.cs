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

    /// <summary>A window's state once <paramref name="count"/> requests have been admitted in it.</summary>
    public static WindowState Of(int limit, int count, DateTimeOffset resetsAt) =>
        new(limit, limit == RateLimit.Unlimited ? 0 : Math.Max(0, limit - count), resetsAt);
}
