using System.Collections.Concurrent;
using Junis.Server.Data;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Junis.Server.Sessions;

/// <summary>
/// The reads that find a request's session, as statements prepared once on connections kept open for them.
/// Through EF Core each lookup opened a connection (registering EF Core's SQL functions on it), translated its
/// query's expression tree into a cache key and parameters, and had SQLite parse the SQL again: measured, 150–350 µs
/// of CPU for every request that names its conversation or sends history, more than the rest of the request.
/// </summary>
/// <remarks>
/// Each request rents a reader for its lookups and returns it; a few are kept, more are opened when more requests
/// look up at once. SQLite in WAL mode reads beside the turn writer without waiting for it.
/// </remarks>
public sealed class SessionLookups(IDbContextFactory<JunisDb> databases) : IDisposable
{
    // Every lookup is within the caller's organization and served by an index that leads with it (see JunisDb):
    // a named conversation by its name (or the session's own id), any other by its hashes; the newest match wins.
    private const string SessionColumns = """
        "Id", "TranscriptHash", "TurnStartHash", "TurnInputHash", "UserTurnsHash", "MessageCount", "LastTurnStart", "LastReplySequence"
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

    internal const string ByUserTurnsSql = """
        SELECT "Id" FROM "Sessions"
        WHERE "OrganizationId" = @org AND "ConversationId" IS NULL AND "UserTurnsHash" = @hash
        ORDER BY "LastUpdateAt" DESC LIMIT 1
        """;

    internal const string HistorySql = """
        SELECT "Role", "Content", "ToolCalls", "ToolCallId", "Refusal", "Name", "Parts" FROM "SessionMessages"
        WHERE "SessionId" = @session AND "Sequence" < @before
        ORDER BY "Sequence" DESC LIMIT @limit
        """;

    private static readonly int KeptReaders = Math.Max(4, 2 * Environment.ProcessorCount);

    private readonly ConcurrentBag<Reader> _idle = [];
    private volatile bool _disposed;

    public Reader Rent() => _idle.TryTake(out var reader) ? reader : new Reader(databases.CreateDbContext());

    /// <summary>Takes back a reader whose lookups all succeeded.</summary>
    public void Return(Reader reader)
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
    public sealed class Reader : IDisposable
    {
        private readonly JunisDb _db;
        private readonly SqliteStatement _byConversation, _byTurnInput, _byTranscript, _byUserTurns, _history;

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
                _byUserTurns = new(connection, ByUserTurnsSql);
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

        public Guid? ByUserTurns(Guid organization, byte[] userTurnsHash) =>
            _byUserTurns.Bind("@org", organization).Bind("@hash", userTurnsHash).QueryFirst(row => (Guid?)row.Guid(0));

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
            UserTurnsHash = row.Bytes(4),
            MessageCount = row.Int32(5),
            LastTurnStart = row.Int32(6),
            LastReplySequence = row.Int32(7),
        };

        public void Dispose()
        {
            foreach (var statement in new[] { _byConversation, _byTurnInput, _byTranscript, _byUserTurns, _history })
                statement?.Dispose();
            _db.Dispose();
        }
    }
}
