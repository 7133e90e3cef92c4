namespace Junis.Server.Auth;

/// <summary>
/// A request counter over one clock-aligned window (a minute, an hour). Exact under concurrency: callers
/// lock the owning object around <see cref="HasRoom"/> and <see cref="Take"/>, so a limit of 100 admits exactly 100.
/// </summary>
public struct FixedWindow(TimeSpan length)
{
    private readonly long _lengthTicks = length.Ticks;
    private long _window;
    private int _count;

    public readonly int Count => _count;

    /// <summary>Moves to the window holding <paramref name="now"/>, starting its count afresh if it is a new one.</summary>
    public void Advance(DateTimeOffset now)
    {
        var window = now.UtcTicks / _lengthTicks;
        if (window != _window)
        {
            _window = window;
            _count = 0;
        }
    }

    public readonly bool HasRoom(int limit) => limit == RateLimit.Unlimited || _count < limit;

    /// <summary>Counts one request; an unlimited window has nothing to count against.</summary>
    public void Take(int limit)
    {
        if (limit != RateLimit.Unlimited)
            _count++;
    }

    public readonly DateTimeOffset ResetsAt => new((_window + 1) * _lengthTicks, TimeSpan.Zero);

    /// <summary>The start of the window of <paramref name="length"/> that holds <paramref name="now"/>.</summary>
    public static DateTimeOffset StartOf(DateTimeOffset now, TimeSpan length) =>
        new(now.UtcTicks / length.Ticks * length.Ticks, TimeSpan.Zero);
}
