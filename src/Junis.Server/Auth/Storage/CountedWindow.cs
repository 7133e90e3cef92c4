using System.Net;

namespace Junis.Server.Auth.Storage;

/// <summary>
/// The window of a counter that holds a moment, as the database counters keep it (<see cref="LimitWindow"/>): its row's
/// key, its end, and its limit. Both database counters name their rows alike, so either can read what the other wrote.
/// </summary>
internal readonly record struct CountedWindow(string Counter, DateTime Start, DateTimeOffset End, int Limit)
{
    public static readonly TimeSpan Minute = TimeSpan.FromMinutes(1), Hour = TimeSpan.FromHours(1);

    public static (CountedWindow Minute, CountedWindow Hour) OfKey(Guid key, DateTimeOffset now, int perMinute, int perHour) =>
        (Of($"key:{key}:minute", now, Minute, perMinute), Of($"key:{key}:hour", now, Hour, perHour));

    public static CountedWindow OfFailures(IPAddress address, DateTimeOffset now, int perMinute) => Of($"ip:{address}:minute", now, Minute, perMinute);

    /// <summary>Windows that started before this ended over an hour ago and are never read again.</summary>
    public static DateTime ExpiredBefore(DateTimeOffset now) => (FixedWindow.StartOf(now, Hour) - Hour).UtcDateTime;

    private static CountedWindow Of(string counter, DateTimeOffset now, TimeSpan length, int limit)
    {
        var start = FixedWindow.StartOf(now, length);
        return new(counter, start.UtcDateTime, start + length, limit);
    }

    public bool Unlimited => Limit == RateLimit.Unlimited;

    public WindowState State(int count) => WindowState.Of(Limit, count, End);
}
