using System.Collections.Concurrent;

namespace Junis.Server.Sessions;

/// <summary>
/// The unnamed turns whose model call failed lately on this server, by organization, key and input. A lone message is
/// looked for in the database as the retry of a failed first turn only when one of these may be it: a first turn costs
/// no read in the common case (bench/ANALYSIS.md, "Retried first turns"). A retry that reaches another server is a new
/// session there, as a retry joining a running turn is (README, "Running several instances").
/// </summary>
public sealed class FailedTurns(TimeProvider clock)
{
    /// <summary>Beyond this many, the expired are dropped; beyond ten times it (an outage), no more are noted.</summary>
    private const int PruneAbove = 10_000;

    private readonly ConcurrentDictionary<(Guid Organization, Guid ApiKey, Guid Input), DateTime> _failed = new();

    /// <summary>Notes a stored turn of an unnamed session whose model call failed.</summary>
    public void Failed(Guid organization, Guid apiKey, byte[] inputHash)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        if (_failed.Count > PruneAbove)
        {
            foreach (var (key, at) in _failed)
            {
                if (at < now - SessionResolver.RetryWindow)
                    _failed.TryRemove(key, out _);
            }
            if (_failed.Count > 10 * PruneAbove)
                return;
        }
        _failed[(organization, apiKey, Input(inputHash))] = now;
    }

    /// <summary>Whether a turn with that input, from that key, failed here since <paramref name="since"/>.</summary>
    public bool MayHave(Guid organization, Guid apiKey, byte[] inputHash, DateTime since) =>
        !_failed.IsEmpty && _failed.TryGetValue((organization, apiKey, Input(inputHash)), out var at) && at >= since;

    /// <summary>The hash's first 16 bytes: enough to tell inputs apart here, where a match is then read from the database.</summary>
    private static Guid Input(byte[] hash) => new(hash.AsSpan(0, 16));
}
