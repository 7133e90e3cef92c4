namespace Junis.Server.Sessions.Storage;

/// <summary>
/// The reads that find a request's session (see <see cref="SessionResolver"/>): each search within one organization,
/// served by an index that leads with it, and the history of the session such a search found. Implemented by <see cref="EfCoreSessionLookups"/>, the reference for any
/// provider, and by <see cref="Sqlite.SqliteSessionLookups"/>, SQLite's prepared statements, which tests hold to it.
/// </summary>
/// <remarks>What every implementation must guarantee is written in <see cref="ITurnStore"/>.</remarks>
public interface ISessionLookups
{
    /// <summary>The session the organization names <paramref name="conversation"/>, or whose id that is; the oldest if both.</summary>
    ValueTask<Session?> ByConversationAsync(Guid organization, string conversation);

    /// <summary>The unnamed session, most recently updated, whose last turn's input hashes to <paramref name="inputHash"/>: a replay.</summary>
    ValueTask<Session?> ByTurnInputAsync(Guid organization, byte[] inputHash);

    /// <summary>The unnamed session, most recently updated, whose transcript hashes to <paramref name="transcriptHash"/>.</summary>
    ValueTask<Guid?> ByTranscriptAsync(Guid organization, byte[] transcriptHash);

    /// <summary>
    /// The unnamed session, most recently updated, that <paramref name="apiKey"/> started, updated at or after
    /// <paramref name="since"/>, whose whole transcript hashes to <paramref name="transcriptHash"/> and whose last turn
    /// has no reply: a turn that failed, which its client may be sending again.
    /// </summary>
    ValueTask<Session?> UnansweredAsync(Guid organization, Guid apiKey, byte[] transcriptHash, DateTime since);

    /// <summary>
    /// The last replies of the unnamed sessions whose last turn's input hashes to <paramref name="inputHash"/>, most recently
    /// updated first, at most <paramref name="limit"/>: the replies a caller may have interrupted after that transcript.
    /// </summary>
    ValueTask<List<LastReply>> LastRepliesAsync(Guid organization, byte[] inputHash, int limit);

    /// <summary>The last <paramref name="limit"/> messages stored before sequence <paramref name="before"/>, newest first.</summary>
    ValueTask<List<SessionMessage>> HistoryAsync(Guid session, int before, int limit);
}

/// <summary>A session's last reply: its sequence number and text.</summary>
public sealed record LastReply(Guid SessionId, int Sequence, string? Content);
