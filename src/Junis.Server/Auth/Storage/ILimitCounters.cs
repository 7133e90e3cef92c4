using System.Net;

namespace Junis.Server.Auth.Storage;

/// <summary>
/// Where the request and failed-authentication limits are counted. Implemented by <see cref="EfCoreLimitCounters"/>, in
/// the database, the reference, which every instance on the database shares; and by <see cref="Memory.MemoryLimitCounters"/>,
/// in this instance's memory, the default, which tests hold to the reference.
/// </summary>
/// <remarks>
/// <para>What every implementation guarantees; the shared one across every instance on its database, the in-memory one
/// within its instance (with several, each counts alone and a limit is multiplied by their number):</para>
/// <list type="number">
/// <item><b>Windows are clock-aligned.</b> A minute window runs from one whole minute to the next, an hour window from one
/// whole hour to the next (UTC); a window's count starts at zero.</item>
/// <item><b>Counting is exact.</b> A limit of N admits exactly N in a window, however many ask at once: a window's slot is
/// taken by a check and an increment that nothing can come between.</item>
/// <item><b>A refused request counts nowhere.</b> A request refused by one of its key's windows takes no slot in the
/// other; a failed authentication refused for the address's full window is not counted either.</item>
/// <item><b>An unlimited window (<see cref="RateLimit.Unlimited"/>) refuses nothing and counts nothing.</b></item>
/// </list>
/// </remarks>
public interface ILimitCounters
{
    /// <summary>Takes a slot in both of the key's windows, the minute's and the hour's, or in neither.</summary>
    ValueTask<RateLimitDecision> AcquireAsync(Guid key, int perMinute, int perHour, CancellationToken cancellationToken);

    /// <summary>When the address has failed <paramref name="perMinute"/> times this minute, the end of the minute.</summary>
    ValueTask<DateTimeOffset?> BlockedUntilAsync(IPAddress address, int perMinute, CancellationToken cancellationToken);

    /// <summary>
    /// Counts a failed authentication from the address, unless its minute is full already: then counts nothing and
    /// returns, as <see cref="BlockedUntilAsync"/> would, the end of the minute.
    /// </summary>
    ValueTask<DateTimeOffset?> RecordFailureAsync(IPAddress address, int perMinute, CancellationToken cancellationToken);
}
