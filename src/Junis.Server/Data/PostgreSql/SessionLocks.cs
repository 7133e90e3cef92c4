using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Data.PostgreSql;

/// <summary>
/// Transaction-scoped advisory locks on sessions by id: a session that does not exist yet (the first turn of a named
/// conversation, whose id is derived from its name) can be locked as well as one that does. Released at commit or
/// rollback, and by the server when a connection dies, so a killed instance holds nothing.
/// </summary>
public static class SessionLocks
{
    /// <summary>Takes the locks in ascending key order, so two transactions locking overlapping sets never deadlock.</summary>
    public static async Task LockAsync(JunisDb db, IReadOnlyList<Guid> sessions)
    {
        var keys = new long[sessions.Count];
        for (var i = 0; i < keys.Length; i++)
            keys[i] = KeyOf(sessions[i]);
        await db.Database.ExecuteSqlAsync($"SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT unnest({keys}) AS k ORDER BY k) AS sessions");
    }

    /// <summary>
    /// Sixty-four bits of the id: both halves folded, since time-ordered ids share their first half with every id of the
    /// same millisecond. Two sessions that fold alike only wait for each other.
    /// </summary>
    public static long KeyOf(Guid session)
    {
        Span<byte> bytes = stackalloc byte[16];
        session.TryWriteBytes(bytes);
        return BitConverter.ToInt64(bytes[..8]) ^ BitConverter.ToInt64(bytes[8..]);
    }

    /// <summary>The retention sweep's own key, outside the space of session keys only by improbability, which costs a wait at worst.</summary>
    private const long RetentionSweepKey = 0x4A756E6973_537765; // "Junis" "Swe"

    /// <summary>Whether this transaction may sweep expired sessions: one instance at a time does, the others skip that hour.</summary>
    public static async Task<bool> TryLockRetentionSweepAsync(JunisDb db, CancellationToken cancellationToken) =>
        await db.Database.SqlQuery<bool>($"SELECT pg_try_advisory_xact_lock({RetentionSweepKey}) AS \"Value\"").SingleAsync(cancellationToken);
}
