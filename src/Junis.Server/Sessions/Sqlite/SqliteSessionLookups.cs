using System.Collections.Concurrent;
using Junis.Server.Data;
using Junis.Server.Data.Sqlite;
using Junis.Server.Sessions.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Sessions.Sqlite;

/// <summary>
/// The session lookups on SQLite, as statements prepared once on connections kept open for them: through EF Core
/// each lookup opened a connection, translated its query and had SQLite parse the SQL again, more CPU than the rest
/// of the request (bench/ANALYSIS.md, "Figures behind the code").
/// </summary>
/// <remarks>
/// Each lookup rents a reader and returns it; a few are kept, more are opened when more requests look up at once.
/// SQLite in WAL mode reads beside the turn writer without waiting for it.
/// </remarks>
internal sealed class SqliteSessionLookups(IDbContextFactory<JunisDb> databases) : ISessionLookups, IDisposable
{
    // Every lookup is within the caller's organization and served by an index that leads with it (see JunisDb):
    // a named conversation by its name (or the session's own id), any other by its hashes; the newest match wins.
    private const string SessionColumns = """
        "Id", "TranscriptHash", "TurnStartHash", "TurnInputHash", "MessageCount", "LastTurnStart", "LastReplySequence"
        """;

    internal const string ByConversationSql = $"""
        SELECT {SessionColumns} FROM "Sessions"
        WHERE "OrganizationId" = @org AND ("ConversationId" = @conversation OR "Id" = @id)
        ORDER BY "CreatedAt" LIMIT 1
        """;

    internal const string ByTurnInputSql = $"""
        SELECT {SessionColumns} FROM "Sessions"
        WHERE "OrganizationId" = @org AND "ConversationId" IS NULL AND "TurnInputHash" = @hash
        ORDER BY "LastUpdateAt" DESC LIMIT 1
        """;

    internal const string ByTranscriptSql = """
        SELECT "Id" FROM "Sessions"
        WHERE "OrganizationId" = @org AND "ConversationId" IS NULL AND "TranscriptHash" = @hash
        ORDER BY "LastUpdateAt" DESC LIMIT 1
        """;

    // The transcript hash of a session whose last turn has no reply is that turn's input hash: among sessions that hold
    // the same words, only those that failed there are searched, not every one that was answered.
    internal const string UnansweredSql = $"""
        SELECT {SessionColumns} FROM "Sessions"
        WHERE "OrganizationId" = @org AND "ConversationId" IS NULL AND "TranscriptHash" = @hash AND "LastUpdateAt" >= @since
          AND "LastReplySequence" = 0 AND "ApiKeyId" = @key
        ORDER BY "LastUpdateAt" DESC LIMIT 1
        """;

    internal const string LastRepliesSql = """
        SELECT m."SessionId", m."Sequence", m."Content" FROM "Sessions" AS s
        JOIN "SessionMessages" AS m ON m."SessionId" = s."Id" AND m."Sequence" = s."LastReplySequence"
        WHERE s."OrganizationId" = @org AND s."ConversationId" IS NULL AND s."TurnInputHash" = @hash AND m."Role" = 'assistant'
        ORDER BY s."LastUpdateAt" DESC, s."Id" DESC LIMIT @limit
        """;

    internal const string HistorySql = """
        SELECT "Role", "Content", "ToolCalls", "ToolCallId", "Refusal", "Name", "Parts" FROM "SessionMessages"
        WHERE "SessionId" = @session AND "Sequence" < @before
        ORDER BY "Sequence" DESC LIMIT @limit
        """;

    private static readonly int KeptReaders = Math.Max(4, 2 * Environment.ProcessorCount);

    private readonly ConcurrentBag<Reader> _idle = [];
    private volatile bool _disposed;

    public ValueTask<Session?> ByConversationAsync(Guid organization, string conversation) => new(Use(r => r.ByConversation(organization, conversation)));

    public ValueTask<Session?> ByTurnInputAsync(Guid organization, byte[] inputHash) => new(Use(r => r.ByTurnInput(organization, inputHash)));

    public ValueTask<Guid?> ByTranscriptAsync(Guid organization, byte[] transcriptHash) => new(Use(r => r.ByTranscript(organization, transcriptHash)));

    public ValueTask<Session?> UnansweredAsync(Guid organization, Guid apiKey, byte[] transcriptHash, DateTime since) =>
        new(Use(r => r.Unanswered(organization, apiKey, transcriptHash, since)));

    public ValueTask<List<LastReply>> LastRepliesAsync(Guid organization, byte[] inputHash, int limit) => new(Use(r => r.LastReplies(organization, inputHash, limit)));

    public ValueTask<List<SessionMessage>> HistoryAsync(Guid session, int before, int limit) => new(Use(r => r.History(session, before, limit)));

    private T Use<T>(Func<Reader, T> lookup)
    {
        var reader = _idle.TryTake(out var idle) ? idle : new Reader(databases.CreateDbContext());
        T found;
        try
        {
            found = lookup(reader);
        }
        catch
        {
            // A connection that failed a lookup is not trusted with another.
            reader.Dispose();
            throw;
        }
        Return(reader);
        return found;
    }

    private void Return(Reader reader)
    {
        if (_disposed || _idle.Count >= KeptReaders)
        {
            reader.Dispose();
            return;
        }
        _idle.Add(reader);
        if (_disposed)
            Dispose(); // disposed while this one was coming back
    }

    public void Dispose()
    {
        _disposed = true;
        while (_idle.TryTake(out var reader))
            reader.Dispose();
    }

    /// <summary>One connection and its prepared lookups; used by one request at a time.</summary>
    private sealed class Reader : IDisposable
    {
        private readonly JunisDb _db;
        private readonly SqliteStatement _byConversation, _byTurnInput, _byTranscript, _unanswered, _lastReplies, _history;

        internal Reader(JunisDb db)
        {
            _db = db;
            try
            {
                _db.Database.OpenConnection();
                var connection = (SqliteConnection)_db.Database.GetDbConnection();
                _byConversation = new(connection, ByConversationSql);
                _byTurnInput = new(connection, ByTurnInputSql);
                _byTranscript = new(connection, ByTranscriptSql);
                _unanswered = new(connection, UnansweredSql);
                _lastReplies = new(connection, LastRepliesSql);
                _history = new(connection, HistorySql);
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public Session? ByConversation(Guid organization, string conversation) =>
            _byConversation.Bind("@org", organization).Bind("@conversation", conversation)
                .Bind("@id", Guid.TryParse(conversation, out var id) ? id : Guid.Empty)
                .QueryFirst(ReadSession);

        public Session? ByTurnInput(Guid organization, byte[] inputHash) =>
            _byTurnInput.Bind("@org", organization).Bind("@hash", inputHash).QueryFirst(ReadSession);

        public Guid? ByTranscript(Guid organization, byte[] transcriptHash) =>
            _byTranscript.Bind("@org", organization).Bind("@hash", transcriptHash).QueryFirst(row => (Guid?)row.Guid(0));

        public Session? Unanswered(Guid organization, Guid apiKey, byte[] transcriptHash, DateTime since) =>
            _unanswered.Bind("@org", organization).Bind("@key", apiKey).Bind("@hash", transcriptHash).Bind("@since", since).QueryFirst(ReadSession);

        public List<LastReply> LastReplies(Guid organization, byte[] inputHash, int limit) =>
            _lastReplies.Bind("@org", organization).Bind("@hash", inputHash).Bind("@limit", limit)
                .QueryAll(row => new LastReply(row.Guid(0), row.Int32(1), row.Text(2)));

        /// <summary>The last <paramref name="limit"/> messages stored before sequence <paramref name="before"/>, newest first.</summary>
        public List<SessionMessage> History(Guid session, int before, int limit) =>
            _history.Bind("@session", session).Bind("@before", before).Bind("@limit", limit).QueryAll(row => new SessionMessage
            {
                SessionId = session,
                Role = row.Text(0)!,
                Content = row.Text(1),
                ToolCalls = row.Text(2),
                ToolCallId = row.Text(3),
                Refusal = row.Text(4),
                Name = row.Text(5),
                Parts = row.Text(6),
            });

        private static Session ReadSession(SqliteStatement row) => new()
        {
            Id = row.Guid(0),
            TranscriptHash = row.Bytes(1),
            TurnStartHash = row.Bytes(2),
            TurnInputHash = row.Bytes(3),
            MessageCount = row.Int32(4),
            LastTurnStart = row.Int32(5),
            LastReplySequence = row.Int32(6),
        };

        public void Dispose()
        {
            foreach (var statement in new[] { _byConversation, _byTurnInput, _byTranscript, _unanswered, _lastReplies, _history })
                statement?.Dispose();
            _db.Dispose();
        }
    }
}
