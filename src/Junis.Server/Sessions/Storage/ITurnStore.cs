namespace Junis.Server.Sessions.Storage;

/// <summary>
/// Where the turn writer stores turns: a transaction at a time, each holding a batch of turns, applied in order
/// (see <see cref="TurnWriter"/>). Implemented by <see cref="EfCoreTurnStore"/>, the reference for any provider; by
/// <see cref="Sqlite.SqliteTurnStore"/>, SQLite's prepared statements; and by <see cref="PostgreSql.PostgresTurnStore"/>,
/// PostgreSQL's batches; tests hold both to the reference.
/// </summary>
/// <remarks>
/// <para>What every store, with <see cref="TurnWriter"/> and <see cref="ISessionLookups"/>, guarantees. On one instance
/// the single writer gives the first four for free; with several instances on one database each must be kept by the
/// database itself (a lock on the session's row for the transaction, or a retry on conflict):</para>
/// <list type="number">
/// <item><b>Acknowledged means durable.</b> A caller's turn is reported stored only once the transaction holding it has
/// committed; a batch that fails is retried turn by turn, so one bad turn sinks no other.</item>
/// <item><b>A session's messages are in order.</b> Sequence numbers run 1…<c>MessageCount</c> without gaps or
/// repeats, in the order the turns were applied: a turn reads the session's count inside the transaction that
/// writes after it. (Several instances: the lock on the session makes a second turn read the count after the first
/// has committed; the unique <c>(SessionId, Sequence)</c> index is a last defence, never what decides.)</item>
/// <item><b>One session per conversation name.</b> Requests racing to start one named conversation are all told the id
/// derived from its name (<c>Ids.Named</c>), and the turn that finds the name taken inside its transaction joins that
/// session instead of starting another. (Several instances: the lock is taken on that derived id, so the second
/// instance finds the session the first has just committed and appends to it.)</item>
/// <item><b>Replays are idempotent.</b> A replay replaces the last turn's reply and takes its tokens off the session's
/// totals; replaying twice leaves one reply. (Several instances: the same lock as 2.)</item>
/// <item><b>A deleted session stays deleted.</b> A turn continuing a session deleted while it ran is not stored; a
/// conversation that starts again under the same name is a new session.</item>
/// <item><b>Everything is within the caller's organization.</b> Every find names it; writes by a session's id come
/// after a find that named it, in the same transaction.</item>
/// <item><b>Totals add up.</b> A session's token totals are the sums of its messages' tokens.</item>
/// </list>
/// <para>Which sessions have a turn in progress is not the store's: <see cref="SessionActivity"/> keeps it in memory,
/// and on PostgreSQL publishes it to the other instances. The request and failed-authentication limits have their own
/// seam, with its own guarantees (<see cref="Auth.Storage.ILimitCounters"/>): on SQLite counted in each instance's
/// memory by default; in the database, shared by every instance, with the EF Core store and always on PostgreSQL.</para>
/// </remarks>
public interface ITurnStore
{
    Task<ITurnTransaction> BeginAsync();

    /// <summary>Drops whatever the store keeps between transactions (a connection): after a failure, or at shutdown.</summary>
    ValueTask ResetAsync();
}

/// <summary>One transaction of the turn writer: what applying a turn reads and writes.</summary>
public interface ITurnTransaction : IAsyncDisposable
{
    /// <summary>
    /// Holds the sessions of a batch for the rest of the transaction, before anything of them is read: a turn of one of
    /// them committing elsewhere waits, or is waited for (guarantees 2 to 4 across instances). Taken once per batch, in
    /// one order everywhere, so two instances' batches never wait for each other in a circle.
    /// </summary>
    ValueTask LockAsync(IReadOnlyList<Guid> sessions);

    ValueTask<StoredSession?> FindAsync(Guid id, Guid organization);

    ValueTask<StoredSession?> FindAsync(Guid organization, string conversation);

    /// <summary>Deletes the session's messages from <paramref name="sequence"/> on, returning the tokens they had counted.</summary>
    ValueTask<(long Prompt, long Completion)> DeleteFromAsync(Guid session, int sequence);

    ValueTask InsertSessionAsync(Guid id, SessionState state);

    ValueTask UpdateSessionAsync(Guid id, SessionState state);

    ValueTask InsertMessageAsync(Guid session, int sequence, StoredMessage message, TurnOutcome? outcome, DateTime now);

    /// <summary>Records what the caller heard of the session's reply at <paramref name="sequence"/> (see <see cref="Turn.Heard"/>).</summary>
    ValueTask SetHeardAsync(Guid session, int sequence, string heard);

    Task CommitAsync();
}

/// <summary>What the writer needs to know of a stored session.</summary>
public sealed record StoredSession(Guid Id, int MessageCount, int LastReplySequence);

/// <summary>Where a session stands after a turn. <c>TurnStart</c> is -1 for a replay, which keeps the last turn's start.</summary>
public sealed record SessionState(
    Turn Turn, byte[] TranscriptHash, int MessageCount, int TurnStart, int ReplySequence,
    long PromptTokens, long CompletionTokens, DateTime? EndedAt, DateTime Now);
